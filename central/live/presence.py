"""Which posts have a node linked to central right now, across every central instance.

A node's live link (namespace "/node") reaches one instance; a consultant asking
whether the post can take a call may be on another. One instance: its own
memory. Several (sharing Redis as the message queue): a sorted set per post of
the links' connection ids, each with a lease that the instance holding the
connection renews, so that the links of an instance that died vanish within
`LEASE_SECONDS`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from ..extensions import LEASE_SECONDS

if TYPE_CHECKING:
    from redis import Redis

__all__ = ["LinkedPosts", "MemoryLinkedPosts", "RedisLinkedPosts", "linked_posts_for", "LEASE_SECONDS"]

log = logging.getLogger(__name__)


class LinkedPosts(Protocol):
    def link(self, post_id: str, sid: str) -> None: ...
    def unlink(self, sid: str) -> None: ...
    def linked(self, post_id: str) -> bool: ...
    def among(self, candidates: Iterable[str]) -> set[str]: ...


class MemoryLinkedPosts:
    """One central process."""

    def __init__(self) -> None:
        self._posts: dict[str, str] = {}  # sid -> post
        self._lock = threading.Lock()

    def link(self, post_id: str, sid: str) -> None:
        with self._lock:
            self._posts[sid] = post_id

    def unlink(self, sid: str) -> None:
        with self._lock:
            self._posts.pop(sid, None)

    def linked(self, post_id: str) -> bool:
        with self._lock:
            return post_id in self._posts.values()

    def among(self, candidates: Iterable[str]) -> set[str]:
        """Which of `candidates` are linked now."""
        with self._lock:
            return set(candidates) & set(self._posts.values())


class RedisLinkedPosts:
    """Several central instances sharing one Redis."""

    def __init__(self, client: Redis, prefix: str = "faplink:linked:") -> None:
        self.redis = client
        self.prefix = prefix
        self._mine: dict[str, str] = {}  # sid -> post, for the links held by this process
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._renew, name="faplink-link-leases", daemon=True).start()

    def _key(self, post_id: str) -> str:
        return f"{self.prefix}{post_id}"

    def link(self, post_id: str, sid: str) -> None:
        with self._lock:
            self._mine[sid] = post_id
        self.redis.zadd(self._key(post_id), {sid: time.time() + LEASE_SECONDS})

    def unlink(self, sid: str) -> None:
        with self._lock:
            post_id = self._mine.pop(sid, None)
        if post_id is not None:
            self.redis.zrem(self._key(post_id), sid)

    def linked(self, post_id: str) -> bool:
        key = self._key(post_id)
        self.redis.zremrangebyscore(key, "-inf", time.time())  # leases of instances gone
        return bool(self.redis.zcard(key))

    def among(self, candidates: Iterable[str]) -> set[str]:
        """Which of `candidates` are linked now, in one round trip whatever the fleet's size: a
        post counts while one of its links holds a lease not yet run out."""
        asked = sorted(set(candidates))
        if not asked:
            return set()
        pipe = self.redis.pipeline(transaction=False)
        now = time.time()
        for post_id in asked:
            pipe.zcount(self._key(post_id), now, "+inf")
        return {post_id for post_id, leases in zip(asked, pipe.execute(), strict=True) if leases}

    def close(self) -> None:
        self._stop.set()

    def _renew(self) -> None:
        while not self._stop.wait(LEASE_SECONDS / 3):
            with self._lock:
                mine = dict(self._mine)
            try:
                pipe = self.redis.pipeline()
                for sid, post_id in mine.items():
                    pipe.zadd(self._key(post_id), {sid: time.time() + LEASE_SECONDS})
                pipe.execute()
            except Exception:
                log.exception("could not renew the posts' link leases")


def linked_posts_for(client: Redis | None) -> LinkedPosts:
    """In the Redis the instances share, if they do; otherwise in this process's memory."""
    return RedisLinkedPosts(client) if client is not None else MemoryLinkedPosts()
