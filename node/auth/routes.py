from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _

from domain.models import Role, Staff
from web import audit
from web.auth import check_login, login_required, login_user, logout_user
from web.i18n import translate_error

from . import bp, lockout

NODE_ROLES = (Role.FELDSHER,)


@bp.record_once
def _side_tables(state: BlueprintSetupState) -> None:
    lockout.create_tables()


def check_feldsher(login: str, password: str) -> Staff | None:
    """A feldsher of this post with these credentials (checked locally, no link needed).

    Raises `LoginLocked` after repeated failures for this login, without checking the password.
    Every name counts, known or not, so the lock-out does not tell which names have an
    account; only before the first sync, when the kiosk holds no credentials at all and no
    password can be right, failures are not counted.
    """
    try:
        lockout.check_not_locked(login)
    except lockout.LoginLocked:
        audit.login_failed(login, detail="locked")
        raise
    post = current_app.extensions["identity"].organization_id
    staff = check_login(login, password, roles=NODE_ROLES, organization_id=post)
    if staff is not None:
        lockout.clear(login)
        audit.logged_in(staff)
    elif lockout.holds_credentials():
        # Before the first sync no password can be right and the post's record is not here
        # yet: such attempts are neither counted nor journalled.
        lockout.record_failure(login)
        audit.login_failed(login)
    return staff


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    login_name = request.form.get("login", "")
    if request.method == "GET" and request.args.get("reason") == "idle":
        flash(_("Сеанс завершён из-за бездействия: войдите снова"), "info")
    if request.method == "POST":
        try:
            staff = check_feldsher(login_name, request.form.get("password", ""))
        except lockout.LoginLocked as exc:
            staff, error = None, translate_error(exc)
        if staff is not None:
            login_user(staff)
            target = request.args.get("next") or ""
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("appeals.queue")
            return redirect(target)
        error = error or _("Неверный логин или пароль")
    return render_template(
        "web/login.html",
        title=_("Вход"),
        error=error,
        login=login_name,
        login_hint=_("Рабочее место фельдшера"),
    ), (401 if error else 200)


@bp.post("/logout")
def logout() -> Any:
    logout_user()
    return redirect(url_for("auth.login"))


@bp.get("/keepalive")
@login_required(*NODE_ROLES)
def keepalive() -> Any:
    """The page's idle timer calls this while the feldsher works, so the session stays alive."""
    return "", 204
