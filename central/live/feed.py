"""Live updates at central: after every write, tell the people and posts concerned.

The change feed remembers the last change number it announced. Whenever a
write may have happened (the end of a non-GET request: a page, the JSON API or
a node's push; or a Socket.IO handler that wrote), `flush()` reads the rows
changed since then and emits, over Socket.IO:

- to consultants (namespace "/"): ``appeals_changed`` to the rooms of the
  appeal's specialty, its consultant and whoever took it (and to admins), so
  that their queues reload; ``appeal`` (id, status) and ``chat`` (appeal id) to
  the appeal's room, which only those who may open the appeal can join;
- to posts (namespace "/node"): ``changes`` to the room of each linked post
  that pulls a changed record — asked of the replication scope the pull itself
  serves, inverted (`SyncModel.posts_pulling`: one query per changed model, which
  posts pull these rows, whatever the size of the fleet), never guessed from
  field names — with the replicas that changed them, so that the post's node
  starts a sync round at once instead of at its next interval. The region's
  shared directory and timetable (`ON_THE_TIMER`) are left to the posts' timers
  (a linked post's safety round): every post pulls them alike, and a saved
  schedule must not start every post's round at once.

Events say *what* changed, never the content: clients fetch that over HTTP,
where access is checked on every request.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_socketio import SocketIO

from domain.models import (
    REPLICATED_MODELS,
    Appeal,
    Attachment,
    ChatMessage,
    Organization,
    Region,
    ScheduleTemplate,
    Slot,
    Specialty,
)
from sync.changes import latest_seq
from sync.model import SyncModel

from .presence import LinkedPosts

__all__ = [
    "STAFF_NS",
    "NODE_NS",
    "ADMINS",
    "staff_room",
    "specialty_room",
    "appeal_room",
    "post_room",
    "Notice",
    "ON_THE_TIMER",
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


#: The models whose changed rows are read whole (for the consultants' rooms); of the others only
#: who changed which row matters, and a post's push of 10,000 patients is not loaded again.
_READ_WHOLE: frozenset[type[SyncModel]] = frozenset({Appeal, ChatMessage})


def _changed(model: type[SyncModel], after: int, upto: int) -> list[Any]:
    changed = (model.seq > after) & (model.seq <= upto)
    if model in _READ_WHOLE:
        return list(model.select().where(changed))
    return list(model.select(model.id, model.changed_by).where(changed).namedtuples())


#: Rows every post of a region pulls alike: they reach the posts on their timers.
ON_THE_TIMER: frozenset[type[SyncModel]] = frozenset(
    {Region, Organization, Specialty, ScheduleTemplate, Slot}
)


def _posts_of(
    rows_by_model: dict[type[SyncModel], list[Any]], linked: Callable[[set[str]], set[str]]
) -> dict[str, set[str]]:
    """Linked post id → replicas that changed records it pulls: one question per changed model,
    answered for every post at once, then one question of presence about the posts it named
    (`linked`: which of these are linked now). Neither grows with the linked fleet."""
    pulling: dict[str, set[str]] = defaultdict(set)
    for model, rows in rows_by_model.items():
        if model in ON_THE_TIMER:
            continue
        changers = {row.id: row.changed_by for row in rows}
        for row_id, posts in model.posts_pulling(changers).items():
            for post in posts:
                pulling[post].add(changers[row_id])
    if not pulling:
        return {}
    return {post: pulling[post] for post in linked(set(pulling))}


def notices_between(
    after: int, upto: int, linked: Callable[[set[str]], set[str]]
) -> list[Notice]:
    """What to announce about the changes numbered (after, upto]; `linked` answers which of the
    posts it is given are linked now (`LinkedPosts.among`)."""
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
    for post, changers in sorted(_posts_of(rows_by_model, linked).items()):
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

    def __init__(self, socketio: SocketIO, posts: LinkedPosts, start: int | None = None) -> None:
        self.socketio = socketio
        self.posts = posts
        self.seen = latest_seq() if start is None else start
        self._lock = threading.Lock()

    def file_arrived(self, sha256: str) -> list[Notice]:
        """A post's file has come whole: the chats that show it «ещё загружается» refresh (the
        file is no row, so no change announces it; its message may have been shown before it)."""
        try:
            appeals: set[str] = {
                row.appeal_id
                for row in Attachment.select(Attachment.appeal).where(
                    (Attachment.sha256 == sha256) & Attachment.appeal.is_null(False)
                )
                if row.appeal_id
            }
            return self._emit(
                [Notice("chat", appeal_room(a), STAFF_NS, {"appeal": a}) for a in sorted(appeals)]
            )
        except Exception:
            log.exception("could not announce a file that arrived")
            return []

    def flush(self) -> list[Notice]:
        """Emit what changed since the last flush; never raises (a failed notice must not fail a write)."""
        try:
            with self._lock:
                upto = latest_seq()
                if upto <= self.seen:
                    return []
                notices = notices_between(self.seen, upto, self.posts.among)
                self.seen = upto
            return self._emit(notices)
        except Exception:
            log.exception("could not announce changes")
            return []

    def _emit(self, notices: list[Notice]) -> list[Notice]:
        for notice in notices:
            self.socketio.emit(notice.event, notice.data, to=notice.room, namespace=notice.namespace)
        return notices
