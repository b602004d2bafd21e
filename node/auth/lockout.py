"""Lock-out after repeated failed logins: 5 failures within 15 minutes lock a login for 15 minutes.

Side-only state of the node (never replicated): a small table of failed attempts,
created by this package when its blueprint is registered.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from peewee import CharField, DateTimeField

from sync.clock import utcnow
from sync.db import database
from sync.errors import N_, AuthError
from sync.models import BaseModel, StaffCredential

__all__ = [
    "LoginFailure",
    "LoginLocked",
    "MAX_FAILURES",
    "WINDOW",
    "locked_until",
    "record_failure",
    "clear",
    "holds_credentials",
]

MAX_FAILURES = 5
#: Failures count within this window, and the lock lasts as long after the last one.
WINDOW = timedelta(minutes=15)


class LoginLocked(AuthError):
    """Too many failed logins for this name: refused without checking the password."""

    code = "login_locked"


class LoginFailure(BaseModel):
    """One failed login attempt for a login name (as typed, lower-cased)."""

    login = CharField(max_length=64, index=True)
    at = DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "node_login_failure"


def create_tables() -> None:
    database.create_tables([LoginFailure], safe=True)


def _name(login: str) -> str:
    return (login or "").strip().lower()[:64]


def holds_credentials() -> bool:
    """Whether this kiosk holds any credentials yet (it has none before its first sync)."""
    return bool(StaffCredential.select().where(StaffCredential.deleted == False).exists())  # noqa: E712


def locked_until(login: str, now: datetime | None = None) -> datetime | None:
    """When the lock on this login ends, or None if it is not locked now."""
    now = now or utcnow()
    recent = list(
        LoginFailure.select(LoginFailure.at)
        .where((LoginFailure.login == _name(login)) & (LoginFailure.at > now - WINDOW))
        .order_by(LoginFailure.at.desc())
        .limit(MAX_FAILURES)
    )
    if len(recent) < MAX_FAILURES:
        return None
    until: datetime = recent[0].at + WINDOW
    return until if now < until else None


def check_not_locked(login: str, now: datetime | None = None) -> None:
    """Raise LoginLocked while the login is locked."""
    until = locked_until(login, now)
    if until is not None:
        seconds = int((until - (now or utcnow())).total_seconds())
        minutes = max(1, -(-seconds // 60))  # rounded up
        raise LoginLocked(
            N_(
                "Слишком много неудачных попыток входа: вход под этим логином заблокирован "
                "на %(minutes)s мин. Повторите позже или позвоните в поддержку 8 (800) 500-02-99"
            ),
            field="login",
            minutes=minutes,
        )


def record_failure(login: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    with database.atomic():
        LoginFailure.create(login=_name(login), at=now)
        # Old attempts matter no more: keep the table small.
        LoginFailure.delete().where(LoginFailure.at < now - 2 * WINDOW).execute()


def clear(login: str) -> None:
    LoginFailure.delete().where(LoginFailure.login == _name(login)).execute()
