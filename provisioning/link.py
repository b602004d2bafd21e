"""Signed requests from a node to central's fleet routes (/sync/fleet/…).

The same Ed25519 signature as the sync protocol (sync.signing), so central
authenticates them with `sync.server.authenticate`: a revoked or unknown
node is refused here exactly as it is refused by the sync itself.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from i18n import N_
from sync.client import parse_url
from sync.errors import SyncError, TransportError, error_for_code
from sync.signing import NodeKey, signed_headers
from sync.wire import encode

from .protocol import FLEET_PATH

__all__ = ["FleetLink", "reachable"]


class FleetLink:
    """One node's signed conversation with central's fleet routes."""

    def __init__(
        self,
        central_url: str,
        node_id: str,
        key: NodeKey,
        *,
        clock_offset_ms: int | None = None,
        timeout: float = 15.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base = parse_url(central_url)
        self.node_id = node_id
        self.key = key
        self.timeout = timeout
        self.session = session or requests.Session()
        self.clock_offset_ms = clock_offset_ms

    def measure_clock(self) -> int:
        """Central's clock minus ours (ms), by an unsigned ping; TransportError if unreachable."""
        started = time.time()
        try:
            pong = self.session.get(f"{self.base}/sync/v1/ping", timeout=self.timeout)
            pong.raise_for_status()
            server_ms = int(pong.json()["server_time_ms"])
        except (requests.RequestException, ValueError, KeyError) as exc:
            raise TransportError(N_("Нет связи с центром: %(detail)s"), detail=type(exc).__name__) from exc
        self.clock_offset_ms = int(server_ms - (started + time.time()) / 2 * 1000)
        return self.clock_offset_ms

    def call(self, method: str, path: str, payload: Any = None, *, key: NodeKey | None = None) -> Any:
        """A signed request to /sync/fleet{path}; central's answer as JSON, or its SyncError."""
        if self.clock_offset_ms is None:
            self.measure_clock()
        full = FLEET_PATH + path
        body = encode(payload) if payload is not None else b""
        headers = signed_headers(
            key or self.key, self.node_id, method, full, body, clock_offset_ms=self.clock_offset_ms or 0
        )
        if payload is not None:
            headers |= {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        try:
            response = self.session.request(
                method, self.base + full, data=body, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise TransportError(N_("Нет связи с центром: %(detail)s"), detail=type(exc).__name__) from exc
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


def reachable(link: FleetLink) -> SyncError | None:
    """None if central answers the ping, else the error saying why not."""
    try:
        link.measure_clock()
    except SyncError as exc:
        return exc
    return None
