"""Helpers for the hardware tests: waiting on a condition, and a thread-safe event log."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from hardware.readings import DeviceEvent, DeviceStatus, LinkState, NoReading, Reading
from tests.helpers.timing import DEADLINE_S


def wait_until(condition: Callable[[], object], timeout: float = DEADLINE_S, what: str = "") -> None:
    """Poll `condition` until it is true; fail the test after `timeout` seconds (a ceiling)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")


class EventLog:
    """Collects a reader's events from its thread; tests wait on it."""

    def __init__(self) -> None:
        self.events: list[DeviceEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: DeviceEvent) -> None:
        with self._lock:
            self.events.append(event)

    def snapshot(self) -> list[DeviceEvent]:
        with self._lock:
            return list(self.events)

    def readings(self, loinc: str | None = None) -> list[Reading]:
        return [e for e in self.snapshot() if isinstance(e, Reading) and (loinc is None or e.loinc == loinc)]

    def no_readings(self, loinc: str | None = None) -> list[NoReading]:
        return [
            e for e in self.snapshot() if isinstance(e, NoReading) and (loinc is None or e.loinc == loinc)
        ]

    def statuses(self, state: LinkState | None = None) -> list[DeviceStatus]:
        return [
            e for e in self.snapshot() if isinstance(e, DeviceStatus) and (state is None or e.state is state)
        ]

    def wait_readings(self, n: int, loinc: str | None = None, timeout: float = DEADLINE_S) -> list[Reading]:
        wait_until(lambda: len(self.readings(loinc)) >= n, timeout, f"{n} readings of {loinc}")
        return self.readings(loinc)

    def wait_status(self, state: LinkState, n: int = 1, timeout: float = DEADLINE_S) -> DeviceStatus:
        wait_until(lambda: len(self.statuses(state)) >= n, timeout, f"status {state.value}")
        return self.statuses(state)[n - 1]

    def clear(self) -> None:
        with self._lock:
            self.events.clear()
