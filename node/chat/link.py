"""The node's Socket.IO connection to central, kept while the link is up.

Central says «changes» when records of this post change there (a chat message,
a take in work, a protocol); the node then starts a sync round at once instead
of waiting for its timer. The connection is authenticated like every sync
request: Ed25519-signed headers (fresh timestamp and nonce on every attempt)
on the HTTP handshake. Without a link nothing breaks: the timer still syncs.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any

import socketio

from sync.signing import NodeKey, signed_headers
from sync.state import Cursor

__all__ = ["CentralLink", "LINK_PATH", "NODE_NAMESPACE"]

log = logging.getLogger(__name__)

#: What the node signs for the handshake; central checks the same (central.chat.sockets).
LINK_PATH = "/socket.io/"
NODE_NAMESPACE = "/node"


class CentralLink:
    """Connects, waits for «changes», reconnects with backoff; `on_changes` must be cheap."""

    def __init__(
        self,
        central_url: str,
        node_id: str,
        key: NodeKey,
        on_changes: Callable[[], None],
        *,
        retry_base: float = 2.0,
        retry_cap: float = 30.0,
    ) -> None:
        self.central_url = central_url.rstrip("/")
        self.node_id = node_id
        self.key = key
        self.on_changes = on_changes
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: socketio.Client | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="faplink-central-link", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        client = self._client
        if client is not None:
            try:
                client.disconnect()
            except Exception:  # already gone
                pass
        if self._thread is not None:
            self._thread.join(timeout)

    def headers(self) -> dict[str, str]:
        """Signed afresh for each connection attempt, so that a nonce is never reused."""
        try:
            offset = int(Cursor.read("clock_offset") or 0)
        except Exception:
            offset = 0
        return signed_headers(self.key, self.node_id, "GET", LINK_PATH, b"", clock_offset_ms=offset)

    def _changes(self, data: Any = None) -> None:
        changed_by = data.get("changed_by", []) if isinstance(data, dict) else []
        if not changed_by or any(replica != self.node_id for replica in changed_by):
            self.on_changes()  # not only our own push coming back

    def _connected(self) -> None:
        log.info("linked to central for live changes")
        self.connected.set()
        self.on_changes()  # catch up on what changed while we were not listening

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            client = socketio.Client(reconnection=False, logger=False, engineio_logger=False)
            client.on("changes", self._changes, namespace=NODE_NAMESPACE)
            client.on("connect", self._connected, namespace=NODE_NAMESPACE)
            self._client = client
            try:
                client.connect(
                    self.central_url,
                    headers=self.headers,
                    namespaces=[NODE_NAMESPACE],
                    wait_timeout=10,
                )
                failures = 0
                client.wait()  # until the link drops
            except Exception as exc:  # refused, unreachable, or dropped while connecting
                failures += 1
                log.debug("central link not up: %s", exc)
            finally:
                self.connected.clear()
                try:
                    client.disconnect()
                except Exception:
                    pass
            delay = min(self.retry_cap, self.retry_base * 2 ** min(failures, 8))
            self._stop.wait(random.uniform(delay / 2, delay))
