"""The node's Socket.IO connection to central, kept while the link is up.

Central says «changes» when records of this post change there (a chat message,
a take in work, a protocol); the node then starts a sync round at once instead
of waiting for its timer. The connection is authenticated like every sync
request: Ed25519-signed headers (fresh timestamp and nonce on every attempt)
on the HTTP handshake, made by the node's one session with central
(`sync.session`: its key, central's clock, the TLS trust). Without a link
nothing breaks: the timer still syncs.

Other features may use the same connection: `on` adds a handler for an event
from central, `emit` and `call` send one, `on_drop` hears that the link went
down (the calls feature relays its signalling this way).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import socketio

from sync.session import CentralSession
from sync.worker import backoff

__all__ = ["CentralLink", "LINK_PATH", "NODE_NAMESPACE"]

log = logging.getLogger(__name__)

#: What the node signs for the handshake; central checks the same (central.live.sockets).
LINK_PATH = "/socket.io/"
NODE_NAMESPACE = "/node"
#: A link that could not be kept up is tried again after up to RETRY_BASE_S · 2^failures s,
#: at most RETRY_CAP_S (a call placed from central needs the link back soon).
RETRY_BASE_S = 2.0
RETRY_CAP_S = 30.0


class CentralLink:
    """Connects, waits for «changes», reconnects with backoff; `on_changes` must be cheap."""

    def __init__(
        self,
        central: CentralSession,
        on_changes: Callable[[], None],
        *,
        retry_base: float = RETRY_BASE_S,
        retry_cap: float = RETRY_CAP_S,
    ) -> None:
        self.central = central
        self.node_id = central.node_id
        self.on_changes = on_changes
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: socketio.Client | None = None
        self._handlers: dict[str, Callable[[Any], Any]] = {}
        self._drop_listeners: list[Callable[[], None]] = []
        self._send_lock = threading.Lock()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="faplink-central-link", daemon=True)
            self._thread.start()

    def retry_now(self) -> None:
        """Central was just reached (a sync round went through): if the link is down, try it
        now rather than after its backoff, which grows up to `retry_cap` while the post is cut
        off; a call placed from central would find no way to the kiosk meanwhile."""
        if not self.connected.is_set():
            self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        client = self._client
        if client is not None:
            try:
                client.disconnect()
            except Exception:  # already gone
                pass
        if self._thread is not None:
            self._thread.join(timeout)

    def on(self, event: str, handler: Callable[[Any], Any]) -> None:
        """Also handle `event` from central, on this connection and every later one."""
        self._handlers[event] = handler
        client = self._client
        if client is not None:
            client.on(event, handler, namespace=NODE_NAMESPACE)

    def on_drop(self, listener: Callable[[], None]) -> None:
        """Call `listener` (cheaply) whenever a live link goes down."""
        self._drop_listeners.append(listener)

    def emit(self, event: str, data: Any) -> bool:
        """Send an event to central if the link is up; whether it was sent."""
        client = self._client
        if client is None or not self.connected.is_set():
            return False
        try:
            with self._send_lock:  # the client is not safe for concurrent sends
                client.emit(event, data, namespace=NODE_NAMESPACE)
            return True
        except Exception as exc:
            log.debug("could not send %s to central: %s", event, exc)
            return False

    def call(self, event: str, data: Any, timeout: float = 10.0) -> Any | None:
        """Send an event and wait for central's answer; None if the link is down or central is silent."""
        client = self._client
        if client is None or not self.connected.is_set():
            return None
        answered = threading.Event()
        reply: list[Any] = []

        def callback(*args: Any) -> None:
            reply.append(args[0] if args else None)
            answered.set()

        try:
            with self._send_lock:
                client.emit(event, data, namespace=NODE_NAMESPACE, callback=callback)
        except Exception as exc:
            log.debug("could not send %s to central: %s", event, exc)
            return None
        return reply[0] if answered.wait(timeout) else None

    def headers(self) -> dict[str, str]:
        """Signed afresh for each connection attempt, so that a nonce is never reused."""
        return self.central.sign("GET", LINK_PATH, b"")

    def _changes(self, data: Any = None) -> None:
        changed_by = data.get("changed_by", []) if isinstance(data, dict) else []
        if not changed_by or any(replica != self.node_id for replica in changed_by):
            self.on_changes()  # not only our own push coming back

    def _connected(self) -> None:
        log.info("linked to central for live changes")
        self.connected.set()
        self.on_changes()  # catch up on what changed while we were not listening

    def _dropped(self) -> None:
        for listener in list(self._drop_listeners):
            try:
                listener()
            except Exception:
                log.exception("a link-drop listener failed")

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.clear()  # a wake-up from here on cuts the wait after this attempt
            http = self.central.new_http()  # the session's TLS trust, for polling and WebSocket
            client = socketio.Client(
                reconnection=False, logger=False, engineio_logger=False, http_session=http
            )
            client.on("changes", self._changes, namespace=NODE_NAMESPACE)
            client.on("connect", self._connected, namespace=NODE_NAMESPACE)
            for event, handler in list(self._handlers.items()):
                client.on(event, handler, namespace=NODE_NAMESPACE)
            self._client = client
            try:
                client.connect(
                    self.central.base,
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
                was_up = self.connected.is_set()
                self.connected.clear()
                if was_up:
                    self._dropped()
                try:
                    client.disconnect()
                except Exception:
                    pass
                http.close()
            self._wake.wait(backoff(failures, self.retry_base, self.retry_cap, doublings=8))
