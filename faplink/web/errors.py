"""Errors as the user should meet them: JSON for the API, a page for people, never a trace."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from sync.errors import AuthError, LifecycleError, ScopeError, SyncError, VersionError

from .i18n import translate_error

__all__ = ["init_errors", "status_for", "error_json"]


def status_for(exc: SyncError) -> int:
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, ScopeError):
        return 403
    if isinstance(exc, VersionError):
        return 426
    if isinstance(exc, LifecycleError):
        return 409
    return 400


def error_json(exc: SyncError) -> tuple[Any, int]:
    body: dict[str, Any] = {"error": exc.code, "message": translate_error(exc)}
    if exc.field:
        body["field"] = exc.field
    return jsonify(body), status_for(exc)


def init_errors(app: Flask) -> None:
    @app.errorhandler(SyncError)
    def sync_error(exc: SyncError) -> Any:
        if request.path.startswith(("/api/", "/sync/")):
            return error_json(exc)
        return (
            render_template("web/error.html", title=_("Ошибка"), message=translate_error(exc)),
            status_for(exc),
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        messages = {
            400: _("Неверный запрос"),
            403: _("Недостаточно прав для этого действия"),
            404: _("Страница не найдена"),
            405: _("Действие недоступно"),
            413: _("Файл слишком большой"),
        }
        message = messages.get(exc.code or 500, exc.description or "")
        if exc.description and exc.description != type(exc).description:
            message = exc.description  # a specific reason given with abort()
        if request.path.startswith(("/api/", "/sync/")):
            return jsonify(error=exc.name.lower().replace(" ", "_"), message=message), exc.code
        return render_template("web/error.html", title=message, message=message), exc.code
