"""The latest loopback call and link measurement made from the page, kept until a full result is saved."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from domain.errors import LifecycleError
from i18n import N_

from .checks import TITLES, Finding

__all__ = ["Measurements", "FRESH_S"]

#: A measurement older than this is not part of a result saved now.
FRESH_S = 15 * 60


class Measurements:
    """One per node process: slow checks run one at a time, their findings kept for the save."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._latest: dict[str, tuple[float, Finding]] = {}

    def run(self, name: str, measure: Callable[[], Finding]) -> Finding:
        """Run one slow check (loopback, link); a second request while it runs is refused."""
        with self._lock:
            if name in self._running:
                raise LifecycleError(N_("«%(check)s» уже идёт: дождитесь результата"), check=TITLES[name])
            self._running.add(name)
        try:
            finding = measure()
        finally:
            with self._lock:
                self._running.discard(name)
        with self._lock:
            self._latest[name] = (time.monotonic(), finding)
        return finding

    def fresh(self, name: str) -> Finding | None:
        with self._lock:
            entry = self._latest.get(name)
        if entry is None or time.monotonic() - entry[0] > FRESH_S:
            return None
        return entry[1]
