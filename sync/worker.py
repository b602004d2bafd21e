"""The node's background sync worker: rounds on a timer, backoff with jitter when offline.

While the post's live link to central is up, central tells it of every change in its scope
and a feldsher's write starts a round at once: the timer is then only a safety net, and
waits `safety_interval` instead of `interval` between rounds. Without the link (no network,
or the link turned off) the post polls every `interval` as before; after a failure it backs
off alike either way.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from .client import SyncClient
from .errors import SyncError, TransportError

__all__ = ["SyncWorker", "backoff", "jittered"]

log = logging.getLogger(__name__)

#: A round's pause varies by this share either way.
JITTER = 0.2
#: The longest a post waits after central comes back before it syncs (a ping every 5 s found it).
SPREAD_CAP = 10.0
#: After n failed rounds the next waits up to BACKOFF_BASE_S · 2^n s, at most BACKOFF_CAP_S.
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 300.0
#: While central does not answer, it is pinged this often.
PROBE_INTERVAL_S = 5.0


def _never_linked() -> bool:
    return False


class SyncWorker:
    """Runs a round every `interval` s (`safety_interval` s while `linked()`); after n failures
    waits base·2^n s (capped); every pause jittered."""

    def __init__(
        self,
        client: SyncClient,
        *,
        interval: float = 15.0,
        safety_interval: float | None = None,
        backoff_base: float = BACKOFF_BASE_S,
        backoff_cap: float = BACKOFF_CAP_S,
        probe_interval: float = PROBE_INTERVAL_S,
    ) -> None:
        self.client = client
        self.interval = interval
        # A linked post never polls more often than one without the link would.
        self.safety_interval = interval if safety_interval is None else max(interval, safety_interval)
        #: Whether central's pushes reach this node now (the node's live link is up); cheap.
        self.linked: Callable[[], bool] = _never_linked
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.probe_interval = probe_interval
        self.offline = False
        self.failures = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="faplink-sync", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def trigger(self) -> None:
        """«Синхронизировать сейчас»: run a round as soon as the current one ends."""
        self._wake.set()

    def next_delay(self) -> float:
        """The pause before the next round, jittered so that a fleet's posts do not poll in step."""
        if self.failures == 0:
            return jittered(self.safety_interval if self.linked() else self.interval)
        return backoff(self.failures, self.backoff_base, self.backoff_cap)

    def spread(self) -> float:
        """How long to wait once central answers again: up to a round's pause, at random, so that
        the posts that waited out an outage together do not all sync in the same second."""
        return random.uniform(0, min(self.interval, SPREAD_CAP))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.client.run_round()
                self.failures, self.offline = 0, False
            except SyncError as exc:
                self.failures += 1
                self.offline = isinstance(exc, TransportError)
                log.info("sync round failed (%s): %s", exc.code, exc.message)
            except Exception:
                self.failures += 1
                log.exception("sync round crashed")
            self._wait(self.next_delay())

    def _wait(self, delay: float) -> None:
        """Sleep until the next round; while offline, start at once when central answers again;
        if the live link drops during a safety pause, poll again within `interval`."""
        deadline = time.monotonic() + delay
        linked = self.linked()
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            step = min(left, self.probe_interval) if self.offline or linked else left
            if self._wake.wait(step):
                break
            if linked and not self.linked():
                linked = False
                deadline = min(deadline, time.monotonic() + jittered(self.interval))
            if self.offline and self.client.ping():
                self.offline = False
                wait = self.spread()
                log.info("central answers again: syncing in %.0f s", wait)
                deadline = time.monotonic() + wait
        self._wake.clear()


def jittered(pause: float) -> float:
    """`pause` varied by `JITTER` either way, so that a fleet's posts do not poll in step."""
    return random.uniform(pause * (1 - JITTER), pause * (1 + JITTER))


def backoff(failures: int, base: float, cap: float, doublings: int = 16) -> float:
    """The pause after `failures` failures in a row: base · 2^failures (doubled at most
    `doublings` times, at most `cap`), drawn from its upper half so that posts that failed
    together do not try again together."""
    delay = min(cap, base * 2 ** min(failures, doublings))
    return random.uniform(delay / 2, delay)
