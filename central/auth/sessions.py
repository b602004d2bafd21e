"""Server-side sessions at central: logout, a password reset or a deactivation really ends them.

The browser's signed cookie carries only a random session id; the row behind it says
who, since when and last seen when. A session lives at most 12 hours and ends after
30 minutes without a request. Only the id's SHA-256 is stored, so a copy of the
database does not hand anyone a live session.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import session
from peewee import CharField, DateTimeField

from sync.clock import utcnow
from sync.db import create_side_tables, database
from sync.model import BaseModel

__all__ = [
    "StaffSession",
    "DatabaseSessions",
    "LIFETIME",
    "IDLE",
    "end_sessions_of",
    "keep_only_this_session",
    "create_tables",
]

LIFETIME = timedelta(hours=12)
IDLE = timedelta(minutes=30)
#: A session's last request is written at most this often (not a database write per request).
TOUCH_EVERY = timedelta(minutes=1)


class StaffSession(BaseModel):
    """One login of a consultant, administrator or engineer at central."""

    id_hash = CharField(primary_key=True, max_length=64)
    staff_id = CharField(max_length=36, index=True)
    address = CharField(max_length=64, default="")
    started_at = DateTimeField(default=utcnow)
    last_seen = DateTimeField(default=utcnow)
    ended_at = DateTimeField(null=True, index=True)

    class Meta:
        table_name = "central_staff_session"


def create_tables() -> None:
    create_side_tables([StaffSession])  # several instances may start at once


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def end_sessions_of(staff_id: str, now: datetime | None = None) -> int:
    """End every open session of a staff member (password reset, deactivation); returns how many."""
    return int(
        StaffSession.update(ended_at=now or utcnow())
        .where((StaffSession.staff_id == staff_id) & StaffSession.ended_at.is_null())
        .execute()
    )


def keep_only_this_session(staff: Any) -> None:
    """After a password change: every other session of the user ends, this one goes on."""
    current = _hash(str(session.get("sid", "")))
    StaffSession.update(ended_at=utcnow()).where(
        (StaffSession.staff_id == staff.id)
        & StaffSession.ended_at.is_null()
        & (StaffSession.id_hash != current)
    ).execute()
    session["password_ok"] = True


class DatabaseSessions:
    """web.auth's session store for central, on central's database."""

    def start(self, staff_id: str, address: str) -> str:
        sid = secrets.token_urlsafe(32)
        now = utcnow()
        with database.atomic():
            StaffSession.create(
                id_hash=_hash(sid), staff_id=staff_id, address=address[:64], started_at=now, last_seen=now
            )
            # Old rows tell nothing any more: keep the table small.
            StaffSession.delete().where(StaffSession.last_seen < now - 2 * LIFETIME).execute()
        return sid

    def alive(self, sid: str, staff_id: str) -> bool:
        """Is this the staff member's open session, within its lifetime and not idle too long?"""
        if not sid:
            return False
        row = StaffSession.get_or_none(StaffSession.id_hash == _hash(sid))
        now = utcnow()
        if row is None or row.staff_id != staff_id or row.ended_at is not None:
            return False
        if now - row.started_at > LIFETIME or now - row.last_seen > IDLE:
            self.end(sid)
            return False
        if now - row.last_seen >= TOUCH_EVERY:
            StaffSession.update(last_seen=now).where(StaffSession.id_hash == row.id_hash).execute()
        return True

    def end(self, sid: str) -> None:
        if sid:
            StaffSession.update(ended_at=utcnow()).where(
                (StaffSession.id_hash == _hash(sid)) & StaffSession.ended_at.is_null()
            ).execute()
