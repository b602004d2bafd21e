"""The scaled central's parts: PostgreSQL and Redis on this machine, two centrals sharing them,
or one instance of web workers behind its realtime gateway."""

from __future__ import annotations

import os
import queue
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import socketio

from sync.request_signing import NodeKey

PG_ADMIN = os.environ.get("FAPLINK_TEST_PG", "postgresql://root@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("FAPLINK_TEST_REDIS", "redis://127.0.0.1:6379/0")


@dataclass
class TwoCentrals:
    """Two central instances on one PostgreSQL database and one Redis, seeded like the demo."""

    urls: list[str]
    data: Any  # faplink.demo_seed's Seeded
    pg_url: str
    root: Path

    def register_node(self, node_id: str, post: int = 0) -> NodeKey:
        """Enrol a node for post `post` (its key is returned) straight in the database."""
        return register_node_in(self.pg_url, self.data.posts[post][0], node_id)


@dataclass
class GatewayCentral:
    """One central instance run as `faplink central run --workers N`: its web workers and its
    realtime gateway behind one URL, on a PostgreSQL database it migrated and Redis."""

    url: str
    data: Any  # faplink.demo_seed's Seeded
    pg_url: str
    root: Path

    def register_node(self, node_id: str, post: int = 0) -> NodeKey:
        """Enrol a node for post `post` (its key is returned) straight in the database."""
        return register_node_in(self.pg_url, self.data.posts[post][0], node_id)


def register_node_in(pg_url: str, post_id: str, node_id: str) -> NodeKey:
    """Enrol a node for the post `post_id` in central's database at `pg_url`; its key."""
    from sync.db import database, open_database_url
    from sync.server import register_node

    key = NodeKey.generate()
    open_database_url(pg_url)
    register_node(node_id, post_id, key.public_hex)
    database.close()
    return key


class Party:
    """A Socket.IO client that keeps every event it receives, in order."""

    def __init__(self, namespace: str = "/") -> None:
        self.namespace = namespace
        self.client = socketio.Client(reconnection=False)
        self.received: queue.Queue[tuple[str, Any]] = queue.Queue()

        @self.client.on("*", namespace=namespace)
        def _any(event: str, payload: Any = None) -> None:
            self.received.put((event, payload))

    def call(self, event: str, data: dict[str, Any]) -> Any:
        return self.client.call(event, data, namespace=self.namespace, timeout=10)

    def wait_for(self, event: str, timeout: float = 10.0) -> Any:
        while True:
            name, payload = self.received.get(timeout=timeout)
            if name == event:
                return payload
