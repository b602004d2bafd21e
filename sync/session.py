"""One node's signed conversation with central: the one place requests to central are made.

A `CentralSession` knows where central is, who this node is (its Ed25519 key), how far
central's clock is from ours, and which TLS certificates to trust (given explicitly:
a CA bundle's path, True for the system's store, False never). The sync
(`sync.client`), the link measurement and its reports, the live Socket.IO link,
provisioning and the fleet reports all talk to central through one.

The clock: a kiosk's clock may be wrong by hours, and central refuses a signature
whose time is off. Central's clock is read from a ping's answer (or a signed hello's or
an empty pull's) as NTP reads it (`offset_from`): central says when the request reached it
and when it answered, so the time central spent on it does not count, only the network's
asymmetry; every signature then carries our time plus that offset.
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from i18n import N_

from .errors import MalformedError, SyncError, TransportError, error_for_code
from .request_signing import NodeKey, signed_headers
from .wire import encode

__all__ = ["CentralSession", "Trust", "offset_from", "parse_url", "received_at", "PING_PATH"]

log = logging.getLogger(__name__)

#: Central's unsigned ping: its clock, and that it answers at all.
PING_PATH = "/sync/v1/ping"

#: TLS trust for HTTPS to central: a CA bundle file, True (the system's store, or
#: REQUESTS_CA_BUNDLE as requests reads it), or False (no check: tests only).
Trust = bool | str


def parse_url(url: str) -> str:
    """Central's address without a trailing slash; a clear error if it is not http(s)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MalformedError(N_("Адрес центра должен начинаться с http:// или https://"))
    return url.rstrip("/")


def offset_from(server_ms: float, started: float, ended: float, received_ms: float | None = None) -> int:
    """Central's clock minus ours (ms), from a request sent at `started` and answered at `ended`
    (our time.time()). With `received_ms`, central's time when the request reached it, as NTP
    does: ((received − started) + (answered − ended)) / 2, exact whatever central's own work
    took. Without (an older central), central's reading is taken at the round trip's middle,
    wrong by up to half of central's work on the request."""
    if received_ms is None or received_ms > server_ms:
        return int(server_ms - (started + ended) / 2 * 1000)
    return int(((received_ms - started * 1000) + (server_ms - ended * 1000)) / 2)


def received_at(answer: Any) -> int | None:
    """Central's `server_received_ms` in an answer, if it says it (an older central does not)."""
    value = answer.get("server_received_ms") if isinstance(answer, dict) else None
    return value if type(value) is int else None


class CentralSession:
    """Signs, sends and times requests from one node to central; safe to share between threads."""

    def __init__(
        self,
        central_url: str,
        node_id: str,
        key: NodeKey,
        *,
        verify: Trust = True,
        clock_offset_ms: int | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.base = parse_url(central_url)
        self.node_id = node_id
        self.key = key
        self.verify = verify
        self.timeout = timeout
        #: None until measured (or known from an earlier measurement).
        self.clock_offset_ms = clock_offset_ms
        self.http = self.new_http()
        self._clock_listeners: list[Callable[[int], None]] = []

    # -- the pieces other transports reuse ------------------------------------------

    def new_http(self) -> requests.Session:
        """A requests session that trusts what this one trusts (e.g. for a Socket.IO client)."""
        http = requests.Session()
        http.verify = self.verify
        return http

    def ssl_context(self) -> ssl.SSLContext:
        """The same trust for a raw http.client connection (the link measurement's)."""
        if self.verify is False:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        cafile = self.verify if isinstance(self.verify, str) else os.environ.get("REQUESTS_CA_BUNDLE")
        return ssl.create_default_context(cafile=cafile or None)

    def sign(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        key: NodeKey | None = None,
        clock_offset_ms: int | None = None,
    ) -> dict[str, str]:
        """Headers that authenticate one request to `path` (with its query), timed by central's clock."""
        offset = self.clock_offset_ms if clock_offset_ms is None else clock_offset_ms
        return signed_headers(key or self.key, self.node_id, method, path, body, clock_offset_ms=offset or 0)

    # -- the clock ------------------------------------------------------------------

    def on_clock(self, listener: Callable[[int], None]) -> None:
        """Call `listener(offset_ms)` whenever central's clock is measured (to keep it)."""
        self._clock_listeners.append(listener)

    def clock_read(
        self, server_ms: float, started: float, ended: float, received_ms: float | None = None
    ) -> int:
        """Take central's clock from an answer to a request sent at `started` and answered at
        `ended` (our time.time()); `received_ms`: when it reached central, if central says."""
        self.clock_offset_ms = offset_from(server_ms, started, ended, received_ms)
        for listener in list(self._clock_listeners):
            listener(self.clock_offset_ms)
        return self.clock_offset_ms

    def measure_clock(self, timeout: float | None = None) -> int:
        """Central's clock minus ours (ms), by an unsigned ping; TransportError if unreachable."""
        started = time.time()
        try:
            pong = self.http.get(self.base + PING_PATH, timeout=timeout or self.timeout)
            pong.raise_for_status()
            answer = pong.json()
            server_ms = int(answer["server_time_ms"])
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            raise no_link(exc) from exc
        return self.clock_read(server_ms, started, time.time(), received_at(answer))

    def ping(self, timeout: float = 3.0) -> bool:
        """Whether central answers at all (unsigned, a few bytes): the link is back."""
        try:
            return self.http.get(self.base + PING_PATH, timeout=timeout).ok
        except requests.RequestException:
            return False

    # -- requests -------------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        headers: dict[str, str] | None = None,
        key: NodeKey | None = None,
        timeout: float | None = None,
    ) -> requests.Response:
        """A signed request; central's answer whatever its status, TransportError if none came."""
        signed = self.sign(method, path, body, key=key) | (headers or {})
        try:
            return self.http.request(
                method, self.base + path, data=body, headers=signed, timeout=timeout or self.timeout
            )
        except requests.RequestException as exc:
            raise no_link(exc) from exc

    def call(self, method: str, path: str, payload: Any = None, *, key: NodeKey | None = None) -> Any:
        """A signed JSON request (gzipped), measuring the clock first if never measured;
        central's answer as JSON, or the SyncError it named."""
        if self.clock_offset_ms is None:
            self.measure_clock()
        body = encode(payload) if payload is not None else b""
        headers = {}
        if payload is not None:
            headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        response = self.send(method, path, body, headers=headers, key=key)
        try:
            data = response.json()
        except ValueError as exc:
            raise TransportError(N_("Центр ответил ошибкой %(status)s"), status=response.status_code) from exc
        if response.status_code >= 400:
            message = data.get("message") if isinstance(data, dict) else None
            if not message:
                raise TransportError(N_("Центр ответил ошибкой %(status)s"), status=response.status_code)
            raise error_for_code(data.get("error"))(str(message))
        return data


def no_link(exc: Exception) -> SyncError:
    """Central could not be reached: said in the feldsher's words; what failed goes to the log."""
    log.info("central not reached: %s", type(exc).__name__)
    return TransportError(N_("Нет связи с центром: сервер не отвечает или сеть недоступна"))
