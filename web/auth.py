"""Staff login shared by both apps: argon2 hashes, session, roles, CSRF protection."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, Protocol, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import (
    Flask,
    Request,
    abort,
    current_app,
    g,
    has_request_context,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import gettext as _

from domain.models import Staff, StaffCredential

__all__ = [
    "hash_password",
    "verify_password",
    "check_login",
    "login_user",
    "logout_user",
    "login_required",
    "csrf_token",
    "init_auth",
    "SessionStore",
]

F = TypeVar("F", bound=Callable[..., Any])

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_login(
    login: str, password: str, *, roles: tuple[str, ...], organization_id: str | None = None
) -> Staff | None:
    """The active staff member with these credentials and one of `roles`, else None."""
    credential = StaffCredential.get_or_none(
        (StaffCredential.login == (login or "").strip().lower()) & (StaffCredential.deleted == False)  # noqa: E712
    )
    if credential is None:
        _hasher.hash(password or "x")  # same cost whether or not the login exists
        return None
    if not verify_password(credential.password_hash, password or ""):
        return None
    staff = credential.staff
    if not staff.active or staff.deleted or staff.role not in roles:
        return None
    if organization_id is not None and staff.organization_id != organization_id:
        return None
    return staff


class SessionStore(Protocol):
    """Server-side sessions (central's): the cookie then carries only a session id."""

    def start(self, staff_id: str, address: str) -> str: ...

    def alive(self, sid: str, staff_id: str) -> bool: ...

    def end(self, sid: str) -> None: ...


def _store() -> SessionStore | None:
    return current_app.extensions.get("staff_sessions")


def login_user(staff: Staff) -> None:
    session.clear()
    session.permanent = True
    session["staff_id"] = staff.id
    session["csrf"] = secrets.token_urlsafe(24)
    store = _store()
    if store is not None:
        session["sid"] = store.start(staff.id, request.remote_addr or "")


def logout_user() -> None:
    lang = session.get("lang")
    store = _store()
    if store is not None:
        store.end(str(session.get("sid", "")))
    session.clear()
    if lang:
        session["lang"] = lang


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def login_required(*roles: str) -> Callable[[F], F]:
    """Only for a logged-in staff member (of one of `roles`, if given)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            staff = getattr(g, "staff", None)
            if staff is None:
                if _wants_json():
                    return jsonify(error="unauthorized", message=_("Войдите в систему")), 401
                return redirect(url_for("auth.login", next=request.full_path))
            if roles and staff.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def _load_staff() -> None:
    g.staff = None
    staff_id = session.get("staff_id")
    if staff_id:
        store = _store()
        if store is not None and not store.alive(str(session.get("sid", "")), staff_id):
            logout_user()  # ended by logout, a password reset, or its time ran out
            return
        staff = Staff.get_or_none(Staff.id == staff_id)
        if staff is not None and staff.active and not staff.deleted:
            g.staff = staff
        else:
            session.pop("staff_id", None)


def _check_csrf() -> Any:
    if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith("/sync/"):
        return None
    if request.endpoint in ("auth.login", "api.login"):
        return None
    if request.path.startswith("/fhir/") and request.headers.get("Authorization"):
        return None  # a МИС's token, not the cookie: nothing a foreign page could send (central/fhir)
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        if _wants_json():
            return jsonify(error="csrf", message=_("Сессия устарела: обновите страницу")), 400
        abort(400, description=_("Сессия устарела: обновите страницу и повторите"))
    return None


class _SessionCookie(SecureCookieSessionInterface):
    """The session cookie is `Secure` whenever the request came over HTTPS (behind a proxy too,
    with FAPLINK_PROXY_HOPS set), unless configured otherwise."""

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = app.config.get("SESSION_COOKIE_SECURE")
        return bool(configured) or (has_request_context() and request.is_secure)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # Without a cookie (a node's signed request, a probe) the session is new and empty:
        # the signing serializer Flask would build first for every request is not needed.
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def init_auth(app: Flask, store: SessionStore | None = None) -> None:
    """Sessions, CSRF and the login globals; `store` keeps sessions server-side (central)."""
    # Flask defines these keys already (31 days, no SameSite): setdefault would change nothing.
    if app.config.get("PERMANENT_SESSION_LIFETIME") == Flask.default_config["PERMANENT_SESSION_LIFETIME"]:
        app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=12)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if not app.config.get("SESSION_COOKIE_SAMESITE"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.session_interface = _SessionCookie()
    if store is not None:
        app.extensions["staff_sessions"] = store
    app.before_request(_load_staff)
    app.before_request(_check_csrf)
    app.jinja_env.globals["csrf_token"] = csrf_token
