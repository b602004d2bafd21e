"""Growing delays after failed logins at the post, never a lock-out.

Three failures for a login name within 15 minutes cost nothing; after that, each next
try must wait 5 s after the last failure, then 10, 20, 40, and at most 60 s. A guesser at
the kiosk gets about one try a minute; a passer-by can never lock the feldsher out for
longer than a minute. Side-only state of the node (never replicated): a small table of
failed attempts, created by this package when its blueprint is registered.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from peewee import CharField, DateTimeField

from domain.models import StaffCredential
from i18n import N_
from sync.clock import utcnow
from sync.db import database
from sync.errors import AuthError
from sync.model import BaseModel

__all__ = [
    "LoginFailure",
    "LoginLocked",
    "FREE_FAILURES",
    "WINDOW",
    "MAX_DELAY",
    "delay_after",
    "locked_until",
    "record_failure",
    "clear",
    "holds_credentials",
]

#: Failures within the window that cost no waiting.
FREE_FAILURES = 3
#: Failures count within this window.
WINDOW = timedelta(minutes=15)
FIRST_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(seconds=60)


class LoginLocked(AuthError):
    """A try too soon after failed logins for this name: refused without checking the password."""

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


def delay_after(failures: int) -> timedelta:
    """How long the next try must wait after this many recent failures."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(MAX_DELAY, FIRST_DELAY * 2 ** (failures - FREE_FAILURES))


def locked_until(login: str, now: datetime | None = None) -> datetime | None:
    """When the next try for this login is allowed, or None if it is allowed now."""
    now = now or utcnow()
    recent = list(
        LoginFailure.select(LoginFailure.at)
        .where((LoginFailure.login == _name(login)) & (LoginFailure.at > now - WINDOW))
        .order_by(LoginFailure.at.desc())
    )
    if not recent:
        return None
    until: datetime = recent[0].at + delay_after(len(recent))
    return until if now < until else None


def check_not_locked(login: str, now: datetime | None = None) -> None:
    """Raise LoginLocked while the login must still wait."""
    until = locked_until(login, now)
    if until is not None:
        seconds = max(1, int((until - (now or utcnow())).total_seconds() + 0.999))
        raise LoginLocked(
            N_("Несколько неудачных попыток входа: подождите %(seconds)s с и попробуйте снова"),
            field="login",
            seconds=seconds,
        )


def record_failure(login: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    with database.atomic():
        LoginFailure.create(login=_name(login), at=now)
        # Old attempts matter no more: keep the table small.
        LoginFailure.delete().where(LoginFailure.at < now - 2 * WINDOW).execute()


def clear(login: str) -> None:
    LoginFailure.delete().where(LoginFailure.login == _name(login)).execute()
