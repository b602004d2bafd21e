"""The JSON API's login and logout, the same on both apps (only who may log in differs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _

from domain.errors import ValidationError
from domain.models import Staff
from i18n import N_

from .auth import csrf_token, login_user, logout_user
from .serialize import staff_json

__all__ = ["add_session_routes", "json_body"]


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a clear refusal."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError(N_("Ожидался JSON-объект в теле запроса"))
    return data


def add_session_routes(bp: Blueprint, check: Callable[[str, str], Staff | None]) -> None:
    """POST/DELETE {bp}/session; `check(login, password)` says who may log in here."""

    def login() -> Any:
        """Log in with login and password.
        ---
        post:
          summary: Log in
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  required: [login, password]
                  properties: {login: {type: string}, password: {type: string}}
          responses:
            200: {description: "the staff member and the CSRF token for later writes"}
            401:
              description: wrong login or password
              content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
        """
        data = json_body()
        staff = check(str(data.get("login", "")), str(data.get("password", "")))
        if staff is None:
            return jsonify(error="unauthorized", message=_("Неверный логин или пароль")), 401
        login_user(staff)
        return jsonify(staff=staff_json(staff), csrf_token=csrf_token())

    def logout() -> Any:
        """Log out.
        ---
        delete:
          summary: Log out
          responses:
            204: {description: logged out}
        """
        logout_user()
        return "", 204

    bp.add_url_rule("/session", "login", login, methods=["POST"])
    bp.add_url_rule("/session", "logout", logout, methods=["DELETE"])
