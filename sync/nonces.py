"""Replay protection without a database write per signed request.

Every signed request carries a nonce; central refuses one it has seen within the replay
window (requests outside the window are refused by their time already). The seen nonces
live where they are cheap: in memory for one central process, in the shared Redis for
several (SET NX with an expiry), or, for a caller that wants it, in the database.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from .clock import utcnow

__all__ = ["NonceStore", "MemoryNonces", "RedisNonces", "DatabaseNonces"]


class NonceStore(Protocol):
    def first_time(self, node_id: str, nonce: str, ttl_s: float) -> bool:
        """Remember the nonce for `ttl_s` seconds; False if it was already there."""


class MemoryNonces:
    """One process's nonces, expiring in order; at most `limit` kept (the oldest go first)."""

    def __init__(self, limit: int = 1_000_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        #: What the window is timed on (seconds); tests pass a clock they move on by hand.
        self.clock = clock
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, node_id: str, nonce: str, ttl_s: float) -> bool:
        now = self.clock()
        key = (node_id, nonce)
        with self._lock:
            while self._seen:
                oldest, expires = next(iter(self._seen.items()))
                if expires > now and len(self._seen) < self.limit:
                    break
                del self._seen[oldest]
            if key in self._seen:
                return False
            self._seen[key] = now + ttl_s
            return True


class RedisNonces:
    """Nonces in the Redis every central instance shares: a replay to another instance fails too."""

    def __init__(self, client: Any, prefix: str = "faplink:nonce:") -> None:
        self.client = client
        self.prefix = prefix

    def first_time(self, node_id: str, nonce: str, ttl_s: float) -> bool:
        return bool(self.client.set(f"{self.prefix}{node_id}:{nonce}", b"1", nx=True, px=int(ttl_s * 1000)))


class DatabaseNonces:
    """Nonces in central's database (the `seen_nonce` table): survives a restart, costs a write."""

    def first_time(self, node_id: str, nonce: str, ttl_s: float) -> bool:
        from datetime import timedelta

        from peewee import IntegrityError

        from .db import database
        from .state import SeenNonce

        with database.atomic():
            SeenNonce.delete().where(SeenNonce.seen_at < utcnow() - timedelta(seconds=ttl_s)).execute()
            try:
                with database.atomic():
                    SeenNonce.create(node_id=node_id, nonce=nonce)
            except IntegrityError:
                return False
        return True
