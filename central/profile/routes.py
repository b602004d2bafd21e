"""«Профиль»: the user's own data, and in «Дополнительно» the time zone."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from central.admin.labels import ROLE_LABELS, VISIBILITY_LABELS
from central.auth.passwords import MIN_LENGTH, change_password, is_temporary
from central.auth.sessions import keep_only_this_session
from central.support import SUPPORT_PHONE
from domain.models import Staff, StaffCredential
from sync.db import database
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import translate_error

from . import bp
from .zones import RUSSIAN_ZONES, check_zone, other_zones, utc_offset


@bp.route("/", methods=["GET", "POST"])
@login_required()
def show() -> Any:
    staff: Staff = g.staff
    error = None
    if request.method == "POST":
        try:
            zone = check_zone(request.form.get("timezone", ""))
            with database.atomic():
                staff.timezone = zone
                staff.save()
            flash(_("Часовой пояс сохранён: %(zone)s", zone=zone), "success")
            return redirect(url_for("profile.show"))
        except USER_ERRORS as exc:
            error = translate_error(exc)
    credential = StaffCredential.get_or_none(StaffCredential.staff == staff.id)
    return render_template(
        "central/profile/show.html",
        title=_("Профиль"),
        staff=staff,
        login=credential.login if credential else "",
        role_label=ROLE_LABELS.get(staff.role, staff.role),
        visibility_label=VISIBILITY_LABELS.get(staff.visibility, staff.visibility),
        russian_zones=[(name, city, utc_offset(name)) for name, city in RUSSIAN_ZONES],
        other_zones=other_zones(),
        support_phone=SUPPORT_PHONE,
        error=error,
    ), (400 if error else 200)


@bp.route("/password", methods=["GET", "POST"])
@login_required()
def password() -> Any:
    """«Сменить пароль»: the user's own; the only page a temporary password leads to."""
    staff: Staff = g.staff
    error = None
    if request.method == "POST":
        try:
            change_password(
                staff,
                request.form.get("current", ""),
                request.form.get("password", ""),
                request.form.get("repeat", ""),
            )
        except USER_ERRORS as exc:
            error = translate_error(exc)
        else:
            keep_only_this_session(staff)
            flash(_("Пароль изменён"), "success")
            return redirect(url_for("profile.show"))
    return render_template(
        "central/profile/password.html",
        title=_("Смена пароля"),
        temporary=is_temporary(staff.id),
        min_length=MIN_LENGTH,
        error=error,
    ), (400 if error else 200)
