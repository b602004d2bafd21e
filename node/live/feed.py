"""Live updates at the post: the kiosk's pages hear from their own node only.

The node announces to its pages (Socket.IO namespace "/") what changed in its
database — a message or an appeal written here, or brought by a sync round —
and, after each round, that the sync finished (messages may now have reached
the centre). The pages then fetch what they show from the node again.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import current_app, session
from flask_socketio import SocketIO, join_room

from domain.models import Appeal, ChatMessage, Role, Staff
from sync.changes import latest_seq
from sync.client import SyncState, SyncStatus

from ..extensions import socketio

__all__ = ["KIOSK", "appeal_room", "NodeFeed", "on_sync_status"]

log = logging.getLogger(__name__)

#: Every page of this kiosk that is logged in.
KIOSK = "kiosk"


def appeal_room(appeal_id: str) -> str:
    return f"appeal:{appeal_id}"


class NodeFeed:
    """Announces each local change once, in change order."""

    def __init__(self, sio: SocketIO, start: int | None = None) -> None:
        self.socketio = sio
        self.seen = latest_seq() if start is None else start
        self._lock = threading.Lock()

    def flush(self) -> int:
        """Emit what changed since the last flush; never raises. Returns the events sent."""
        try:
            with self._lock:
                upto = latest_seq()
                if upto <= self.seen:
                    return 0
                after, self.seen = self.seen, upto
                appeals = list(Appeal.select().where((Appeal.seq > after) & (Appeal.seq <= upto)))
                chats = {
                    m.appeal_id
                    for m in ChatMessage.select(ChatMessage.appeal).where(
                        (ChatMessage.seq > after) & (ChatMessage.seq <= upto)
                    )
                }
            sent = 0
            for appeal in appeals:
                self.socketio.emit(
                    "appeal", {"id": appeal.id, "status": appeal.status}, to=appeal_room(appeal.id)
                )
                sent += 1
            if appeals:
                self.socketio.emit("appeals_changed", {}, to=KIOSK)
                sent += 1
            for appeal_id in sorted(chats):
                self.socketio.emit("chat", {"appeal": appeal_id}, to=appeal_room(appeal_id))
                sent += 1
            return sent
        except Exception:
            log.exception("could not announce changes to the kiosk")
            return 0


def on_sync_status(feed: NodeFeed, sio: SocketIO) -> Any:
    """A sync-status listener: after each round, announce what it brought."""

    def listener(status: SyncStatus) -> None:
        if status.state == SyncState.IDLE.value:
            feed.flush()
            sio.emit("synced", {"state": status.state}, to=KIOSK)

    return listener


def _kiosk_staff() -> Staff | None:
    staff_id = session.get("staff_id")
    if not staff_id:
        return None
    staff = Staff.get_or_none(Staff.id == staff_id)
    post = current_app.extensions["identity"].organization_id
    if staff is None or not staff.active or staff.deleted or staff.role != Role.FELDSHER:
        return None
    return staff if staff.organization_id == post else None


@socketio.on("connect")
def kiosk_connect(auth: Any = None) -> None:
    if _kiosk_staff() is None:
        raise ConnectionRefusedError("unauthorized")
    join_room(KIOSK)


@socketio.on("join")
def join_appeal(data: Any = None) -> dict[str, Any]:
    """Follow one of this post's appeals."""
    appeal_id = str(data.get("appeal", "")) if isinstance(data, dict) else ""
    post = current_app.extensions["identity"].organization_id
    if _kiosk_staff() is None or not appeal_id:
        return {"ok": False}
    status = Appeal.select(Appeal.status).where((Appeal.id == appeal_id) & (Appeal.post == post)).scalar()
    if status is None:
        return {"ok": False}
    join_room(appeal_room(appeal_id))
    return {"ok": True, "status": status}  # as at central: a change before the join is not lost
