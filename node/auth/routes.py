from __future__ import annotations

from typing import Any

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from faplink.web.auth import check_login, login_user, logout_user
from sync.models import Role, Staff

from . import bp

NODE_ROLES = (Role.FELDSHER,)


def check_feldsher(login: str, password: str) -> Staff | None:
    """A feldsher of this post with these credentials (checked locally, no link needed)."""
    post = current_app.extensions["identity"].organization_id
    return check_login(login, password, roles=NODE_ROLES, organization_id=post)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    login_name = request.form.get("login", "")
    if request.method == "POST":
        staff = check_feldsher(login_name, request.form.get("password", ""))
        if staff is not None:
            login_user(staff)
            target = request.args.get("next") or ""
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("appeals.queue")
            return redirect(target)
        error = _("Неверный логин или пароль")
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
