"""Administration of users: the list by role, the user's card, password reset, deactivation."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from central.profile.zones import RUSSIAN_ZONES, other_zones
from domain.models import Role, Staff
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import translate_error

from . import bp, directories, users
from .labels import KIND_LABELS, ROLE_LABELS, VISIBILITY_LABELS

ADMIN = (Role.ADMIN,)


def _staff(staff_id: str) -> Staff:
    staff = Staff.get_or_none((Staff.id == staff_id) & (Staff.deleted == False))  # noqa: E712
    if staff is None:
        abort(404)
    return staff  # type: ignore[no-any-return]


@bp.get("/users")
@login_required(*ADMIN)
def user_list() -> Any:
    role = request.args.get("role", "")
    return render_template(
        "central/admin/users.html",
        title=_("Пользователи"),
        rows=users.users(role or None),
        role=role,
        role_labels=ROLE_LABELS,
    )


def _form_page(editing: Staff | None, form: Any, error: str | None = None) -> Any:
    credential = users.credential_of(editing) if editing is not None else None
    return render_template(
        "central/admin/user_form.html",
        title=editing.full_name if editing else _("Новый пользователь"),
        editing=editing,
        login=credential.login if credential else "",
        has_login=credential is not None,
        form=form,
        error=error,
        organizations=directories.organizations(),
        specialties=directories.specialties(),
        role_labels=ROLE_LABELS,
        kind_labels=KIND_LABELS,
        visibility_labels=VISIBILITY_LABELS,
        russian_zones=RUSSIAN_ZONES,
        other_zones=other_zones(),
        min_password=users.MIN_PASSWORD,
    ), (400 if error else 200)


def _saved(staff: Staff, created: bool) -> Any:
    if created:
        flash(_("Пользователь %(name)s добавлен", name=staff.full_name), "success")
    else:
        flash(_("Изменения сохранены: %(name)s", name=staff.full_name), "success")
    return redirect(url_for("admin.user_list"))


@bp.route("/users/new", methods=["GET", "POST"])
@login_required(*ADMIN)
def user_new() -> Any:
    if request.method == "GET":
        return _form_page(None, {})
    try:
        staff = users.save_user(None, request.form, g.staff)
    except USER_ERRORS as exc:
        return _form_page(None, request.form, translate_error(exc))
    return _saved(staff, created=True)


@bp.route("/users/<staff_id>", methods=["GET", "POST"])
@login_required(*ADMIN)
def user_edit(staff_id: str) -> Any:
    staff = _staff(staff_id)
    if request.method == "GET":
        return _form_page(staff, {})
    try:
        users.save_user(staff, request.form, g.staff)
    except USER_ERRORS as exc:
        return _form_page(_staff(staff_id), request.form, translate_error(exc))
    return _saved(staff, created=False)


@bp.post("/users/<staff_id>/password")
@login_required(*ADMIN)
def user_password(staff_id: str) -> Any:
    """«Сбросить пароль»: the temporary password is shown on this response only."""
    staff = _staff(staff_id)
    try:
        password = users.reset_password(staff)
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
        return redirect(url_for("admin.user_edit", staff_id=staff_id))
    credential = users.credential_of(staff)
    page = render_template(
        "central/admin/password.html",
        title=_("Пароль сброшен"),
        staff=staff,
        login=credential.login if credential else "",
        password=password,
    )
    return page, 200, {"Cache-Control": "no-store"}


@bp.post("/users/<staff_id>/active")
@login_required(*ADMIN)
def user_active(staff_id: str) -> Any:
    staff = _staff(staff_id)
    make_active = request.form.get("active") == "1"
    try:
        users.set_active(staff, make_active, g.staff)
        if make_active:
            flash(_("Пользователь %(name)s снова активен", name=staff.full_name), "success")
        else:
            flash(
                _("Пользователь %(name)s деактивирован: войти он больше не сможет", name=staff.full_name),
                "success",
            )
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
    return redirect(url_for("admin.user_edit", staff_id=staff_id))
