"""Errors as the user should meet them: JSON for the API, a page for people, never a trace."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from peewee import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from domain.errors import DomainError, ForbiddenError, LifecycleError, NotFoundError
from sync.errors import AuthError, ScopeError, SyncError, VersionError

from .i18n import UserError, translate_error

__all__ = ["init_errors", "status_for", "error_json", "USER_ERRORS", "UserError"]

#: Errors fit to show a user, caught wherever a page or an answer says what went wrong: the
#: sync engine's (the link, a refused record) and the domain's (a rule that said no).
USER_ERRORS: tuple[type[SyncError], type[DomainError]] = (SyncError, DomainError)


def status_for(exc: UserError) -> int:
    if exc.code == "too_many_attempts":  # central's login throttle: come back later
        return 429
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ScopeError | ForbiddenError):
        return 403
    if isinstance(exc, VersionError):
        return 426
    if isinstance(exc, LifecycleError):
        return 409
    return 400


def error_json(exc: UserError) -> tuple[Any, int]:
    body: dict[str, Any] = {"error": exc.code, "message": translate_error(exc)}
    if exc.field:
        body["field"] = exc.field
    return jsonify(body), status_for(exc)


class DiskFull(HTTPException):
    """507 Insufficient Storage (WebDAV's code; werkzeug has none): the disk has no room left."""

    code = 507
    description = "Insufficient Storage"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and those it was raised from or while handling."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _disk_nearly_full(app: Flask) -> bool:
    """Whether the data directory's disk has (almost) no room left: SQLite may report that as I/O."""
    try:
        return shutil.disk_usage(Path(app.config.get("DATA_DIR") or ".")).free < 1024 * 1024
    except OSError:
        return False


def init_errors(app: Flask) -> None:
    def user_error(exc: UserError) -> Any:
        if request.path.startswith(("/api/", "/sync/")):
            return error_json(exc)
        message = translate_error(exc)
        # «Not found» and «not allowed» pages are titled with their reason, as abort() made them.
        title = message if isinstance(exc, NotFoundError | ForbiddenError) else _("Ошибка")
        return render_template("web/error.html", title=title, message=message), status_for(exc)

    for shown in USER_ERRORS:
        app.register_error_handler(shown, user_error)

    @app.errorhandler(OSError)
    def os_error(exc: OSError) -> Any:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return disk_full(exc)
        raise exc

    def disk_full(exc: Exception) -> Any:
        # The write failed whole (SQLite rolls the transaction back; a blob is published only
        # once complete): what was stored before is intact, and only space is missing.
        app.logger.error("disk full on %s %s: %s", request.method, request.path, exc)
        return http_error(DiskFull())

    @app.errorhandler(OperationalError)
    def database_error(exc: OperationalError) -> Any:
        # SQLite rolls a statement back itself when the disk is full, so the rollback that
        # follows fails too: look along the chain for the first cause.
        said = " ".join(str(e) for e in _chain(exc))
        if "disk is full" in said or ("disk I/O error" in said and _disk_nearly_full(app)):
            return disk_full(exc)
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
            507: _(
                "Недостаточно места на диске: действие не выполнено, сохранённое раньше не потеряно. "
                "Освободите место или позвоните в техподдержку."
            ),
        }
        message = messages.get(exc.code or 500, exc.description or "")
        if isinstance(exc, InternalServerError):
            message = messages[500]  # never the exception's own words
        if exc.description and exc.description != type(exc).description:
            message = exc.description  # a specific reason given with abort()
        if request.path.startswith(("/api/", "/sync/")):
            return jsonify(error=exc.name.lower().replace(" ", "_"), message=message), exc.code
        return render_template("web/error.html", title=message, message=message), exc.code
