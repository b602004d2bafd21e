from __future__ import annotations

from typing import Any

from flask import current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _

from domain.models import Role, Staff
from web import audit
from web.auth import check_login, login_user, logout_user
from web.i18n import translate_error

from . import bp, passwords, sessions
from .throttle import LoginThrottle, TooManyAttempts

#: Who may log in to central's web.
CENTRAL_ROLES = (Role.CONSULTANT, Role.ADMIN, Role.ENGINEER, Role.AUDITOR)


#: What a user with a temporary password may still reach: the change itself and logout.
_WHILE_TEMPORARY = frozenset(
    {"profile.password", "api.change_password", "auth.logout", "api.logout", "static"}
)


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app = state.app
    sessions.create_tables()
    passwords.create_tables()
    app.extensions["staff_sessions"] = sessions.DatabaseSessions()
    queue = str(app.config.get("MESSAGE_QUEUE") or "")
    # Several instances count failures together in their shared Redis; one counts in memory.
    app.extensions["login_throttle"] = LoginThrottle(queue if queue.startswith("redis") else "memory://")
    app.before_request(_temporary_password_first)


def check_central_login(login: str, password: str) -> Staff | None:
    """A consultant, administrator or engineer with these credentials; throttled (see `throttle`)."""
    throttle: LoginThrottle = current_app.extensions["login_throttle"]
    address = request.remote_addr or ""
    try:
        throttle.check(login, address)
    except TooManyAttempts:
        audit.login_failed(login, detail="throttled")
        raise
    staff = check_login(login, password, roles=CENTRAL_ROLES)
    if staff is None:
        throttle.failed(login, address)
        audit.login_failed(login)
    else:
        throttle.succeeded(login, address)
        audit.logged_in(staff)
    return staff


def _temporary_password_first() -> Any:
    """A user whose password an administrator set must change it before anything else."""
    staff = getattr(g, "staff", None)
    if staff is None or session.get("password_ok"):
        return None
    if not passwords.is_temporary(staff.id):
        session["password_ok"] = True
        return None
    endpoint = request.endpoint or ""
    if endpoint in _WHILE_TEMPORARY or endpoint.endswith(".static"):
        return None
    message = _("Пароль выдан администратором как временный: смените его, чтобы продолжить")
    if request.path.startswith("/api/"):
        return jsonify(error="password_change_required", message=message), 403
    return redirect(url_for("profile.password"))


def home_for(staff: Staff) -> str:
    """Where a user lands after login: the queues, the fleet for an engineer, the journal for
    an auditor."""
    if staff.role == Role.AUDITOR:
        return url_for("admin.audit_journal")
    if staff.role == Role.ENGINEER:
        return (
            url_for("fleet.index")
            if "fleet.index" in current_app.view_functions
            else url_for("support.requests")
        )
    return url_for("appeals.queue")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    login_name = request.form.get("login", "")
    status = 200
    if request.method == "POST":
        try:
            staff = check_central_login(login_name, request.form.get("password", ""))
        except TooManyAttempts as exc:
            staff, error, status = None, translate_error(exc), 429
        if staff is not None:
            login_user(staff)
            target = request.args.get("next") or ""
            if not target.startswith("/") or target.startswith("//"):
                target = home_for(staff)
            return redirect(target)
        if error is None:
            error, status = _("Неверный логин или пароль"), 401
    return render_template(
        "web/login.html",
        title=_("Вход"),
        error=error,
        login=login_name,
        login_hint=_("Личный кабинет консультанта"),
    ), status


@bp.post("/logout")
def logout() -> Any:
    logout_user()
    return redirect(url_for("auth.login"))
