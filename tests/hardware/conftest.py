"""Fixtures for the hardware tests: simulators on real ptys and port readers that watch them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hardware.ports import PortLocator, PortReader
from hardware.simulators import PtySimulator
from tests.hardware.support import EventLog


@pytest.fixture
def simulator() -> Iterator[Callable[[PtySimulator], PtySimulator]]:
    """Start a simulator on a fresh pty; it is stopped after the test."""
    started: list[PtySimulator] = []

    def start(sim: PtySimulator) -> PtySimulator:
        sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def reader() -> Iterator[Callable[..., tuple[PortReader, EventLog]]]:
    """Start a PortReader on a path or locator, with short backoff; stopped after the test."""
    started: list[PortReader] = []

    def start(port: str | PortLocator, protocol: str = "auto", **options: Any) -> tuple[PortReader, EventLog]:
        log = EventLog()
        options.setdefault("backoff", (0.05, 0.3))
        port_reader = PortReader(port, log, protocol=protocol, **options)
        port_reader.start()
        started.append(port_reader)
        return port_reader, log

    yield start
    for port_reader in started:
        port_reader.stop()
