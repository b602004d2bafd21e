"""Errors as the user should meet them: JSON for the API, a page for people, never a trace."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from peewee import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from sync.errors import AuthError, LifecycleError, ScopeError, SyncError, VersionError

from .i18n import translate_error

__all__ = ["init_errors", "status_for", "error_json"]


def status_for(exc: SyncError) -> int:
    if exc.code == "too_many_attempts":  # central's login throttle: come back later
        return 429
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

    @app.errorhandler(OperationalError)
    def database_error(exc: OperationalError) -> Any:
        if "locked" in str(exc) or "busy" in str(exc):
            # Locked past the busy timeout: the transaction was rolled back, so nothing
            # was half-written, and a retry is the user's whole remedy.
            app.logger.warning("database busy on %s %s: %s", request.method, request.path, exc)
            return http_error(ServiceUnavailable())
        app.logger.exception("database error on %s %s", request.method, request.path)
        return http_error(InternalServerError())

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        messages = {
            400: _("Неверный запрос"),
            403: _("Недостаточно прав для этого действия"),
            404: _("Страница не найдена"),
            405: _("Действие недоступно"),
            413: _("Файл слишком большой"),
            500: _(
                "Действие не выполнено из-за ошибки сервера. Повторите попытку; "
                "если ошибка повторится, сообщите в техподдержку."
            ),
            503: _("Сервер занят. Повторите попытку через несколько секунд."),
        }
        message = messages.get(exc.code or 500, exc.description or "")
        if isinstance(exc, InternalServerError):
            message = messages[500]  # never the exception's own words
        if exc.description and exc.description != type(exc).description:
            message = exc.description  # a specific reason given with abort()
        if request.path.startswith(("/api/", "/sync/")):
            return jsonify(error=exc.name.lower().replace(" ", "_"), message=message), exc.code
        return render_template("web/error.html", title=message, message=message), exc.code
