"""«Профиль»: the user's own data, and in «Дополнительно» the time zone."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from central.admin.labels import ROLE_LABELS, VISIBILITY_LABELS
from central.support import SUPPORT_PHONE
from faplink.web.auth import login_required
from faplink.web.i18n import translate_error
from sync.db import database
from sync.errors import SyncError
from sync.models import Staff, StaffCredential

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
        except SyncError as exc:
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
