"""Where central keeps the calls under way: this process's memory, or Redis for a scaled central.

With several central instances behind one address, a consultant's page may be
connected to one instance and the post's node to another. The calls then live
in Redis (the instances already share it as Socket.IO's message queue), changed
only under one lock, so that every instance sees the same state; the events
reach the parties' connections through the message queue as before.

A call's entry is a lease: the instance holding a party's connection renews it
while the call lasts, so the entries of an instance that died vanish within
`LEASE_SECONDS` instead of blocking the appeal's next call.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from ..extensions import LEASE_SECONDS

if TYPE_CHECKING:
    from redis import Redis

    from .registry import Call

__all__ = ["CallBook", "MemoryCallBook", "RedisCallBook", "LEASE_SECONDS", "call_book_for"]

#: The Redis lock is given up after this long even if its holder died holding it.
_LOCK_SECONDS = 10


class CallBook(Protocol):
    """The calls under way; every read-then-write happens inside `locked()`."""

    def locked(self) -> Any: ...
    def get(self, call_id: str) -> Call | None: ...
    def calls(self) -> list[Call]: ...
    def put(self, call: Call) -> None: ...
    def remove(self, call_id: str) -> None: ...
    def renew(self, call_ids: Iterable[str]) -> set[str]:
        """Extend these calls' leases; returns the ids still under way."""
        ...


class MemoryCallBook:
    """One central process: a dict behind a lock."""

    def __init__(self) -> None:
        self._calls: dict[str, Call] = {}
        self._lock = threading.RLock()

    def locked(self) -> Any:
        return self._lock

    def get(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    def calls(self) -> list[Call]:
        return list(self._calls.values())

    def put(self, call: Call) -> None:
        self._calls[call.id] = call

    def remove(self, call_id: str) -> None:
        self._calls.pop(call_id, None)

    def renew(self, call_ids: Iterable[str]) -> set[str]:
        return {i for i in call_ids if i in self._calls}


class RedisCallBook:
    """Several central instances: one JSON entry per call, with a lease, and a set of ids."""

    def __init__(self, client: Redis, prefix: str = "faplink:calls:") -> None:
        self.redis = client
        self.prefix = prefix
        self._ids = f"{prefix}ids"

    def _key(self, call_id: str) -> str:
        return f"{self.prefix}call:{call_id}"

    @contextmanager
    def locked(self) -> Iterator[None]:
        lock = self.redis.lock(f"{self.prefix}lock", timeout=_LOCK_SECONDS, blocking_timeout=_LOCK_SECONDS)
        if not lock.acquire():
            raise TimeoutError("the calls' lock in Redis was not free within 10 s")
        try:
            yield
        finally:
            lock.release()

    def get(self, call_id: str) -> Call | None:
        from .registry import Call

        raw = self.redis.get(self._key(call_id))
        return Call.from_json(json.loads(raw)) if raw else None

    def calls(self) -> list[Call]:
        from .registry import Call

        ids = sorted(i.decode() if isinstance(i, bytes) else str(i) for i in self.redis.smembers(self._ids))
        if not ids:
            return []
        found = []
        for call_id, raw in zip(ids, self.redis.mget([self._key(i) for i in ids]), strict=True):
            if raw is None:  # its lease ran out: an instance died during the call
                self.redis.srem(self._ids, call_id)
            else:
                found.append(Call.from_json(json.loads(raw)))
        return found

    def put(self, call: Call) -> None:
        pipe = self.redis.pipeline()
        pipe.set(self._key(call.id), json.dumps(call.to_json()), ex=LEASE_SECONDS)
        pipe.sadd(self._ids, call.id)
        pipe.execute()

    def remove(self, call_id: str) -> None:
        pipe = self.redis.pipeline()
        pipe.delete(self._key(call_id))
        pipe.srem(self._ids, call_id)
        pipe.execute()

    def renew(self, call_ids: Iterable[str]) -> set[str]:
        ids = list(call_ids)
        if not ids:
            return set()
        pipe = self.redis.pipeline()
        for call_id in ids:
            pipe.expire(self._key(call_id), LEASE_SECONDS)
        return {i for i, alive in zip(ids, pipe.execute(), strict=True) if alive}


def call_book_for(client: Redis | None) -> CallBook:
    """In the Redis the instances share, if they do; otherwise in this process's memory."""
    return RedisCallBook(client) if client is not None else MemoryCallBook()
