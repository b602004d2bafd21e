"""What the post tells the feldsher about its link and its queue: one source for the top bar,
the sync page, the appeal page and the advised consultation mode.

The queue is counted when a page asks (at most every few seconds), not when the last round
ran: an appeal made offline shows in the queue at once. The state says offline as soon as a
round could not reach central, and then no consultation mode but a deferred one is advised.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from sync.changes import pending_counts
from sync.client import SyncState
from sync.state import Cursor

from ..syncing import sync_client

__all__ = ["PostState", "post_state", "QUEUE_TTL_S"]

#: Queue counts are reused for this long (a page render, its fragments, the next page).
QUEUE_TTL_S = 2.0

_OFFLINE_STATES = {SyncState.OFFLINE.value, SyncState.ERROR.value, SyncState.REVOKED.value}


@dataclass(frozen=True)
class PostState:
    state: str  # a SyncState value; pages show it with the `sync_state` label
    online: bool
    emergency: int  # emergency appeals waiting to go
    records: int  # every change waiting to go
    files: int  # files waiting to go up
    last_success: datetime | None
    last_attempt: datetime | None
    reason: str  # why the last round failed, in the feldsher's words ("" if it did not)

    @property
    def waiting(self) -> bool:
        return bool(self.records or self.files)


_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, int]]] = {}


def _counts(node_id: str) -> dict[str, int]:
    now = time.monotonic()
    with _lock:
        hit = _cache.get(node_id)
        if hit is not None and now - hit[0] < QUEUE_TTL_S:
            return hit[1]
    counts = pending_counts(Cursor.read("push"), node_id)
    with _lock:
        _cache[node_id] = (now, counts)
    return counts


def forget_counts() -> None:
    """After a local change or a round: the next page counts afresh."""
    with _lock:
        _cache.clear()


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        return None


def post_state() -> PostState:
    status = sync_client().status
    counts = _counts(current_app.extensions["identity"].node_id)
    state = status.state
    online = state not in _OFFLINE_STATES
    return PostState(
        state=state,
        online=online,
        emergency=counts["emergency"],
        records=counts["records"],
        files=counts["blobs_up"],
        last_success=_when(status.last_success),
        last_attempt=_when(status.last_attempt),
        reason="" if online else (status.last_error or ""),
    )
