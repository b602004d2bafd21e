"""What sync_compare's engines share: one measured run, and how its bytes split.

A run's bytes come from the counting relay's ledger (bytes per request label, both
ways). Each engine says which labels are its replication (`counted`) and which of
those carry the files (`is_file`); the rest of the counted bytes are the records'.
Traffic through the relay that is not replication (a node's live Socket.IO link,
its fleet report) is kept apart as `other`.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchlib import Relay, RequestStat, cpu_seconds

__all__ = ["Run", "WireSplit", "ready_go", "split_ledger"]


@dataclass
class Run:
    """One replication: its wall time, bytes up and down (replication only), and the files' share."""

    wall_s: float
    up: int
    down: int
    extra: dict[str, Any] = field(default_factory=dict)
    ledger: list[str] = field(default_factory=list)
    #: Bytes (both ways) of the requests that carry files; None if they cannot be told apart.
    files_wire: int | None = None

    @property
    def total(self) -> int:
        return self.up + self.down

    @property
    def records_wire(self) -> int | None:
        return None if self.files_wire is None else self.total - self.files_wire


@dataclass
class WireSplit:
    up: int = 0
    down: int = 0
    files: int = 0
    other: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def split_ledger(
    relay: Relay, counted: Callable[[str], bool], is_file: Callable[[str], bool] | None
) -> WireSplit:
    """Sum the relay's ledger: replication bytes up/down, the files' part of them, the rest apart."""
    split = WireSplit()
    stats: dict[str, RequestStat] = dict(relay.ledger)  # read once the replication has ended
    for label, stat in stats.items():
        split.counts[label] = stat.count
        if not counted(label):
            split.other += stat.up + stat.down
            continue
        split.up += stat.up
        split.down += stat.down
        if is_file is not None and is_file(label):
            split.files += stat.up + stat.down
    return split


def ready_go(
    client: subprocess.Popen[bytes],
    relay: Relay,
    timeout: float,
    server: subprocess.Popen[bytes] | None = None,
) -> dict[str, Any]:
    """Wait for the client's READY, zero the relay's counters, let it go; its JSON result.

    The result gets `cpu_client_s` and `cpu_server_s`: CPU seconds both used meanwhile.
    """
    assert client.stdout is not None and client.stdin is not None
    deadline = time.monotonic() + timeout
    while True:
        line = client.stdout.readline().decode()
        if not line:
            raise RuntimeError(f"client exited (code {client.wait()}) before it was ready")
        if line.startswith("READY"):
            break
        if time.monotonic() > deadline:
            raise TimeoutError("client never became ready")
    relay.reset()
    cpu_client = cpu_seconds(client.pid)
    cpu_server = cpu_seconds(server.pid) if server is not None else 0.0
    client.stdin.write(b"go\n")
    client.stdin.flush()
    for line_b in client.stdout:
        line = line_b.decode().strip()
        if line.startswith("{"):
            result = dict(json.loads(line))
            result["cpu_client_s"] = cpu_seconds(client.pid) - cpu_client
            result["cpu_server_s"] = cpu_seconds(server.pid) - cpu_server if server is not None else 0.0
            return result
    raise RuntimeError(f"client exited (code {client.wait()}) without a result")
