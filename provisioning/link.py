"""Signed requests from a node to central's fleet routes (/sync/fleet/…).

They go through the node's one signed session with central (`sync.session`), so
central authenticates them with `sync.server.authenticate`: a revoked or unknown
node is refused here exactly as it is refused by the sync itself.
"""

from __future__ import annotations

from typing import Any

from enrolment.protocol import FLEET_PATH
from sync.errors import SyncError
from sync.request_signing import NodeKey
from sync.session import CentralSession, Trust

__all__ = ["FleetLink", "reachable"]


class FleetLink:
    """One node's conversation with central's fleet routes, over its signed session."""

    def __init__(self, central: CentralSession) -> None:
        self.central = central

    @classmethod
    def to(
        cls,
        central_url: str,
        node_id: str,
        key: NodeKey,
        *,
        verify: Trust = True,
        clock_offset_ms: int | None = None,
        timeout: float = 15.0,
    ) -> FleetLink:
        """A link over a session of its own (the CLI's; the node's service shares its sync's)."""
        session = CentralSession(
            central_url, node_id, key, verify=verify, clock_offset_ms=clock_offset_ms, timeout=timeout
        )
        return cls(session)

    def measure_clock(self) -> int:
        """Central's clock minus ours (ms), by an unsigned ping; TransportError if unreachable."""
        return self.central.measure_clock()

    def call(self, method: str, path: str, payload: Any = None, *, key: NodeKey | None = None) -> Any:
        """A signed request to /sync/fleet{path}; central's answer as JSON, or its SyncError."""
        return self.central.call(method, FLEET_PATH + path, payload, key=key)


def reachable(link: FleetLink) -> SyncError | None:
    """None if central answers the ping, else the error saying why not."""
    try:
        link.measure_clock()
    except SyncError as exc:
        return exc
    return None
