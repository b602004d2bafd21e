"""Live updates at central: after every write, tell the people and posts concerned.

The change feed remembers the last change number it announced. Whenever a
write may have happened (the end of a non-GET request: a page, the JSON API or
a node's push; or a Socket.IO handler that wrote), `flush()` reads the rows
changed since then and emits, over Socket.IO:

- to consultants (namespace "/"): ``appeals_changed`` to the rooms of the
  appeal's specialty, its consultant and whoever took it (and to admins), so
  that their queues reload; ``appeal`` (id, status) and ``chat`` (appeal id) to
  the appeal's room, which only those who may open the appeal can join;
- to posts (namespace "/node"): ``changes`` to the room of each post whose
  records changed, with the replicas that changed them, so that the post's
  node starts a sync round at once instead of at its next interval.

Events say *what* changed, never the content: clients fetch that over HTTP,
where access is checked on every request.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from flask_socketio import SocketIO

from sync.changes import latest_seq
from sync.models import (
    REPLICATED_MODELS,
    Appeal,
    ChatMessage,
    Exam,
    Protocol,
    Staff,
    SyncModel,
)

__all__ = [
    "STAFF_NS",
    "NODE_NS",
    "ADMINS",
    "staff_room",
    "specialty_room",
    "appeal_room",
    "post_room",
    "Notice",
    "notices_between",
    "ChangeFeed",
]

log = logging.getLogger(__name__)

STAFF_NS = "/"
NODE_NS = "/node"
ADMINS = "admins"


def staff_room(staff_id: str) -> str:
    return f"staff:{staff_id}"


def specialty_room(specialty_id: str) -> str:
    return f"specialty:{specialty_id}"


def appeal_room(appeal_id: str) -> str:
    return f"appeal:{appeal_id}"


def post_room(organization_id: str) -> str:
    return f"post:{organization_id}"


@dataclass(frozen=True)
class Notice:
    """One Socket.IO event to one room."""

    event: str
    room: str
    namespace: str
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def _changed(model: type[SyncModel], after: int, upto: int) -> list[Any]:
    return list(model.select().where((model.seq > after) & (model.seq <= upto)))


def _appeal_posts(appeal_ids: set[str]) -> dict[str, str]:
    if not appeal_ids:
        return {}
    rows = Appeal.select(Appeal.id, Appeal.post).where(Appeal.id.in_(list(appeal_ids)))
    return {row.id: row.post_id for row in rows}


def _posts_of(rows_by_model: dict[type[SyncModel], list[Any]]) -> dict[str, set[str]]:
    """Post id → replicas that changed its records (directories and schedules are left to the timer)."""
    touched: dict[str, set[str]] = defaultdict(set)
    via_appeal: list[tuple[str, str]] = []  # (appeal id, changed_by)
    for model, rows in rows_by_model.items():
        names = {f.name for f in model._meta.sorted_fields}
        for row in rows:
            data = row.__data__
            if model is Appeal:
                touched[row.post_id].add(row.changed_by)
            elif "post" in names and data.get("post"):
                touched[data["post"]].add(row.changed_by)
            elif "organization" in names and model is not Staff and data.get("organization"):
                touched[data["organization"]].add(row.changed_by)
            elif "appeal" in names and data.get("appeal"):
                via_appeal.append((data["appeal"], row.changed_by))
            elif "exam" in names and data.get("exam"):
                exam = Exam.get_or_none(Exam.id == data["exam"])
                if exam is not None:
                    touched[exam.post_id].add(row.changed_by)
            elif "protocol" in names and data.get("protocol"):
                protocol = Protocol.get_or_none(Protocol.id == data["protocol"])
                if protocol is not None:
                    via_appeal.append((protocol.appeal_id, row.changed_by))
            elif model is Staff and data.get("organization"):
                touched[data["organization"]].add(row.changed_by)  # a feldsher's profile
            elif "staff" in names and data.get("staff"):
                staff = Staff.get_or_none(Staff.id == data["staff"])  # a login changed
                if staff is not None:
                    touched[staff.organization_id].add(row.changed_by)
    posts = _appeal_posts({appeal for appeal, _ in via_appeal})
    for appeal_id, changed_by in via_appeal:
        if appeal_id in posts:
            touched[posts[appeal_id]].add(changed_by)
    return touched


def notices_between(after: int, upto: int) -> list[Notice]:
    """What to announce about the changes numbered (after, upto]."""
    rows_by_model = {m: rows for m in REPLICATED_MODELS if (rows := _changed(m, after, upto))}
    out: dict[tuple[str, str, str], Notice] = {}

    def add(event: str, room: str, namespace: str = STAFF_NS, **data: Any) -> None:
        out.setdefault((event, room, namespace), Notice(event, room, namespace, data))

    for appeal in rows_by_model.get(Appeal, []):
        for room in _consultant_rooms(appeal):
            add("appeals_changed", room)
        add("appeal", appeal_room(appeal.id), id=appeal.id, status=appeal.status)
    for message in rows_by_model.get(ChatMessage, []):
        add("chat", appeal_room(message.appeal_id), appeal=message.appeal_id)
    for post, changers in _posts_of(rows_by_model).items():
        add("changes", post_room(post), NODE_NS, changed_by=sorted(changers))
    return list(out.values())


def _consultant_rooms(appeal: Appeal) -> list[str]:
    """Everyone whose queues may hold this appeal, before or after this change."""
    rooms = [specialty_room(appeal.specialty_id), ADMINS]
    for staff_id in (appeal.consultant_id, appeal.taken_by_id):
        if staff_id:
            rooms.append(staff_room(staff_id))
    return rooms


class ChangeFeed:
    """Announces each change once per process, in change order."""

    def __init__(self, socketio: SocketIO, start: int | None = None) -> None:
        self.socketio = socketio
        self.seen = latest_seq() if start is None else start
        self._lock = threading.Lock()

    def flush(self) -> list[Notice]:
        """Emit what changed since the last flush; never raises (a failed notice must not fail a write)."""
        try:
            with self._lock:
                upto = latest_seq()
                if upto <= self.seen:
                    return []
                notices = notices_between(self.seen, upto)
                self.seen = upto
            for notice in notices:
                self.socketio.emit(notice.event, notice.data, to=notice.room, namespace=notice.namespace)
            return notices
        except Exception:
            log.exception("could not announce changes")
            return []
