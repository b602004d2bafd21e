"""Time in tests: wait for what should happen, and move a clock on by hand.

A test never sleeps a fixed time hoping something has happened meanwhile: it
waits for the outcome it can observe, up to a deadline that is a ceiling, not a
cost (a busy machine may take many times longer than an idle one). Where the
code itself waits out a window of time (a ring timeout, a keep-alive, a talk's
length), the test hands it a `ManualClock` and moves that on instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

__all__ = ["DEADLINE_S", "ManualClock", "wait_until"]

T = TypeVar("T")

#: How long a test waits for something that takes a fraction of a second on an idle machine.
DEADLINE_S = 30.0


def wait_until(
    condition: Callable[[], T | None], what: str, timeout: float = DEADLINE_S, interval: float = 0.02
) -> T:
    """Poll `condition` until it returns something truthy, and return that; fail the test
    saying `what` was awaited (and the last value seen) once `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; last: {value!r}")
        time.sleep(interval)


class ManualClock:
    """A clock that stands still until the test moves it on (thread-safe).

    Called, it reads seconds like `time.monotonic`; `utcnow()` reads the same moment as
    a naive UTC datetime, like `sync.clock.utcnow`.
    """

    def __init__(self, start: datetime = datetime(2026, 3, 2, 9, 0)) -> None:
        self._start = start
        self._seconds = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._seconds

    def utcnow(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=self._seconds - 1000.0)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._seconds += seconds
