from __future__ import annotations

from typing import Any

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from faplink.web.auth import check_login, login_user, logout_user
from sync.models import Role, Staff

from . import bp

#: Who may log in to central's web.
CENTRAL_ROLES = (Role.CONSULTANT, Role.ADMIN, Role.ENGINEER)


def home_for(staff: Staff) -> str:
    """Where a user lands after login: the queues, or the fleet for an engineer."""
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
    if request.method == "POST":
        staff = check_login(login_name, request.form.get("password", ""), roles=CENTRAL_ROLES)
        if staff is not None:
            login_user(staff)
            target = request.args.get("next") or ""
            if not target.startswith("/") or target.startswith("//"):
                target = home_for(staff)
            return redirect(target)
        error = _("Неверный логин или пароль")
    return render_template(
        "web/login.html",
        title=_("Вход"),
        error=error,
        login=login_name,
        login_hint=_("Личный кабинет консультанта"),
    ), (401 if error else 200)


@bp.post("/logout")
def logout() -> Any:
    logout_user()
    return redirect(url_for("auth.login"))
