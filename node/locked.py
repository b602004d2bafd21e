"""A post whose data key is sealed by its feldshers' passwords: the login page only, until one logs in.

After a boot without a TPM the node cannot open node.db or the files: the key
is in keyring.json, wrapped for each feldsher's password. Until someone logs in
the node serves only the login page (and answers the JSON API with 503
«locked»). The first right login and password open the keyring; the node then
builds its whole app (database, pages, sync worker) and hands it that very
login request, so the feldsher logs in once and lands where they meant to go.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, g, jsonify, redirect, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from werkzeug.wrappers import Request

from web import bp as web_bp
from web.i18n import init_i18n, translate_error

from .datakey import DataKey, unlock_with_password
from .errors import NodeError

__all__ = ["lock", "is_locked", "when_open"]

log = logging.getLogger(__name__)

Opener = Callable[[DataKey], Flask]
_LOGIN_PATHS = ("/login", "/api/v1/session")
#: Wrong passwords tried in a row before each further try waits (doubling, up to a minute):
#: the node's own lock-out lives in the database, which is still closed here.
_FREE_TRIES = 5


class _LockedNode:
    """The shell app's WSGI entry: the login page until unlocked, then the whole node."""

    def __init__(self, shell: Flask, inner: Any, opener: Opener) -> None:
        self.shell = shell
        self.inner = inner
        self.opener = opener
        self.node: Flask | None = None
        self._opening = threading.Lock()
        self._failures = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.node is None and environ.get("REQUEST_METHOD") == "POST":
            if environ.get("PATH_INFO") in _LOGIN_PATHS:
                self._try_unlock(environ)
        if self.node is not None:
            return self.node.wsgi_app(environ, start_response)
        return self.inner(environ, start_response)

    def _try_unlock(self, environ: dict[str, Any]) -> None:
        body = Request(environ).get_data(cache=True)
        environ["wsgi.input"] = io.BytesIO(body)  # the login is read again by whoever answers
        probe = Request({**environ, "wsgi.input": io.BytesIO(body)})
        if probe.is_json:
            data = probe.get_json(silent=True) or {}
        else:
            data = probe.form
        login, password = str(data.get("login", "")), str(data.get("password", ""))
        data_dir = self.shell.extensions["identity"].data_dir
        if self._failures >= _FREE_TRIES:
            time.sleep(min(60, 2 ** (self._failures - _FREE_TRIES)))
        key = unlock_with_password(data_dir, login, password)
        if key is None:
            self._failures += 1
            return
        self._failures = 0
        with self._opening:
            if self.node is None:
                log.info("the post's data opened with a feldsher's login; starting the node")
                try:
                    self.node = self.opener(key)
                except NodeError as exc:  # the data opened, but it is not whole: say so, build nothing
                    log.error("%s", exc.message)
                    self.shell.extensions["refused"] = exc
                    return
                for callback in self.shell.extensions.get("when_open", []):
                    callback(self.node)
                self.shell.extensions["node_app"] = self.node


def lock(shell: Flask, opener: Opener) -> Flask:
    """Turn `shell` (configured, with its identity) into the locked node; `opener(key)` builds
    the whole node once a login opens the key."""
    shell.extensions["when_open"] = []
    shell.register_blueprint(web_bp)
    init_i18n(shell)
    shell.session_interface = SecureCookieSessionInterface()
    shell.jinja_env.globals.update(
        home_endpoint="login",
        user_menu=lambda: [],
        csrf_token=lambda: "",
        app_title=shell.config["APP_TITLE"],
        app_stylesheet="kiosk.css",
        app_body_class="kiosk",
    )

    @shell.before_request
    def _no_staff() -> None:
        g.staff = None

    @shell.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        refused = shell.extensions.get("refused")
        if refused is not None:
            return render_template("web/error.html", title=_("Ошибка"), message=translate_error(refused)), 503
        error = _("Неверный логин или пароль") if request.method == "POST" else None
        return render_template(
            "web/login.html",
            title=_("Вход"),
            error=error,
            login=request.form.get("login", ""),
            login_hint=_("Данные ФАП зашифрованы: войдите, чтобы открыть их"),
        ), (401 if error else 200)

    @shell.route("/api/v1/session", methods=["POST"])
    def api_login() -> Any:
        refused = shell.extensions.get("refused")
        if refused is not None:
            return jsonify(error=refused.code, message=translate_error(refused)), 503
        return jsonify(error="unauthorized", message=_("Неверный логин или пароль")), 401

    @shell.route("/", defaults={"path": ""})
    @shell.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def everything_else(path: str) -> Any:
        if request.path.startswith(("/api/", "/sync/")):
            refused = shell.extensions.get("refused")
            if refused is not None:
                return jsonify(error=refused.code, message=translate_error(refused)), 503
            message = _("Данные ФАП зашифрованы: войдите, чтобы открыть их")
            return jsonify(error="locked", message=message), 503
        return redirect(url_for("login", next=request.full_path if path else None))

    from .extensions import socketio  # `faplink node run` serves through it

    socketio.init_app(shell, async_mode="threading", cors_allowed_origins=[])
    shell.wsgi_app = _LockedNode(shell, shell.wsgi_app, opener)  # type: ignore[method-assign]
    shell.extensions["locked"] = True
    return shell


def is_locked(app: Flask) -> bool:
    return bool(app.extensions.get("locked")) and "node_app" not in app.extensions


def when_open(app: Flask, callback: Callable[[Flask], None]) -> None:
    """Run `callback(node app)` now if the node is open, else once a login opens it."""
    if not app.extensions.get("locked"):
        callback(app)
    elif "node_app" in app.extensions:
        callback(app.extensions["node_app"])
    else:
        app.extensions["when_open"].append(callback)
