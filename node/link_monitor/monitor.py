"""Measuring the link in the background: every 15 minutes, after sync rounds, and on demand.

The measurement runs on the monitor's own thread (or the thread of whoever asks
for one now), never on the sync worker's or a page's: a listener on the
SyncClient only wakes the monitor. The first one waits a minute after start, and
a due one waits while the sync has records or files queued: the kiosk's own
traffic would distort the figures, and the measurement would slow that traffic
down (one costs up to ~350 kB on a fast link, a few kB on a slow one). Each
result is kept in the data directory (node/link_monitor/measure.py `save_latest`) and
pushed to central at once (/sync/link/v1/report), so the consultant sees a change
of mode before calling; the fleet health report carries it too
(provisioning/report.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime

from sync.client import SyncClient, SyncStatus
from sync.errors import SyncError
from sync.session import CentralSession
from sync.wire import encode

from ..identity import NodeIdentity
from .measure import (
    DEFERRED,
    LINK_PATH,
    LinkQuality,
    load_latest,
    measure_link,
    offered_mode,
    save_latest,
)

__all__ = ["LinkMonitor"]

log = logging.getLogger(__name__)

#: After a round that reached central, measure again this soon if the last result was
#: «отложенная» (the link may just have come back), else only once `interval` has passed.
RETRY_AFTER_DEFERRED_S = 60.0
#: A measurement's report to central: one attempt per timeout (s), `PUSH_PAUSE_S` apart.
PUSH_TIMEOUTS_S = (10.0, 20.0, 30.0)
PUSH_PAUSE_S = 2.0


class LinkMonitor:
    """Keeps `latest` fresh; `measure_now()` for an answer now, `wake()` for one soon."""

    def __init__(
        self,
        identity: NodeIdentity,
        *,
        interval: float = 900.0,
        budget_s: float = 6.0,
        first_delay: float = 60.0,
        client: SyncClient | None = None,
        session: Callable[[], CentralSession] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.identity = identity
        #: The wall clock a measurement's age is read on (aware UTC); tests pass a fixed one.
        self.now = now
        # The sync's session with central when there is a sync (one clock, one trust); else
        # `session()` (the node's, with its TLS trust), opened at the first measurement: it
        # unseals node.key, which a kiosk that has not opened its data key cannot do yet.
        self._central = client.central if client is not None else None
        self._open_session = session or identity.session
        self.interval = interval
        self.first_delay = first_delay
        self.budget_s = budget_s
        self.client = client
        self.latest: LinkQuality | None = load_latest(identity.data_dir)
        self.measuring = False
        self._measure_lock = threading.Lock()
        self._wake = threading.Event()
        self._forced = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def central(self) -> CentralSession:
        if self._central is None:
            self._central = self._open_session()
        return self._central

    # -- control -----------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            if self.client is not None:
                self.client.listeners.append(self.after_round)
            self._thread = threading.Thread(target=self._run, name="faplink-link-monitor", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Measure soon, on the monitor's thread (a thread of its own if the monitor is not
        running), whether or not one is due."""
        if self._thread is None:
            threading.Thread(target=self._measure_logged, name="faplink-link-check", daemon=True).start()
            return
        self._forced = True
        self._wake.set()

    def _measure_logged(self) -> None:
        try:
            self.measure_now()
        except Exception:  # the monitor must outlive any one bad measurement
            log.exception("link measurement failed")

    @property
    def mode(self) -> str:
        return offered_mode(self.latest)

    def age_s(self) -> float | None:
        if self.latest is None:
            return None
        return (self.now() - self.latest.measured_at).total_seconds()

    def due(self) -> bool:
        age = self.age_s()
        if age is None or age >= self.interval:
            return True
        return self.mode == DEFERRED and age >= RETRY_AFTER_DEFERRED_S

    def after_round(self, status: SyncStatus) -> None:
        """A SyncClient listener: a round has just reached central (or failed to)."""
        if status.state == "idle" and self.due():
            self._wake.set()

    # -- measuring ---------------------------------------------------------------

    def measure_now(self) -> LinkQuality:
        """Measure (waiting for one already running to finish first), keep and push the result."""
        rounds_held = self.client.exclusive() if self.client is not None else nullcontext()
        with self._measure_lock, rounds_held:
            self.measuring = True
            try:
                result = measure_link(self.central, budget_s=self.budget_s)
            finally:
                self.measuring = False
            previous = offered_mode(self.latest)
            self.latest = result
            try:
                save_latest(self.identity.data_dir, result)
            except OSError:
                log.exception("could not keep the link measurement")
        mode = offered_mode(result)
        if mode != previous:
            log.info("link to central: %s -> %s (%s)", previous, mode, result.as_dict())
        threading.Thread(target=self.push, args=(result,), name="faplink-link-push", daemon=True).start()
        return result

    def push(self, result: LinkQuality) -> bool:
        """Send a measurement and its mode to central; whether central took it.

        A link bad enough to measure badly may lose the report too (at 25 % loss one POST timed
        out after 30 s): it is sent again, up to `PUSH_TIMEOUTS_S` attempts, each signed afresh."""
        path = f"{LINK_PATH}/report"
        body = encode({**result.as_dict(), "mode": offered_mode(result)})
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        for attempt, timeout in enumerate(PUSH_TIMEOUTS_S, start=1):
            if attempt > 1 and self._stop.wait(PUSH_PAUSE_S):
                return False
            try:
                response = self.central.send("POST", path, body, headers=headers, timeout=timeout)
            except (OSError, SyncError) as exc:
                log.info("link measurement not sent to central (attempt %s): %s", attempt, type(exc).__name__)
                continue
            if not response.ok:
                log.warning(
                    "central refused the link measurement: %s %s", response.status_code, response.text[:200]
                )
            return response.ok
        return False

    def _run(self) -> None:
        started = time.monotonic()
        while not (self._stop.is_set() or self._forced) and time.monotonic() - started < self.first_delay:
            # Start-up and the first sync go first; only «Проверить связь» cuts this short.
            self._wake.wait(self.first_delay - (time.monotonic() - started))
            self._wake.clear()
        while not self._stop.is_set():
            if self._forced or (self.due() and not self._sync_busy()):
                self._forced = False
                self._wait_for_quiet_link()
                if self._stop.is_set():
                    return
                self._measure_logged()
            self._wake.clear()
            self._wake.wait(self._next_delay())

    def _sync_busy(self) -> bool:
        """Records or files still to go, unless that has kept the measurement off too long."""
        if self.client is None:
            return False
        status = self.client.status
        queued = status.queue_records + status.queue_blobs_up + status.queue_blobs_down
        age = self.age_s()
        return queued > 0 and (age is None or age < 2 * self.interval)

    def _next_delay(self) -> float:
        age = self.age_s()
        if age is None or self._sync_busy():
            return RETRY_AFTER_DEFERRED_S
        return max(1.0, self.interval - age)

    def _wait_for_quiet_link(self, longest: float = 30.0) -> None:
        """A sync round moving data would distort the figures (and be slowed): let it finish."""
        deadline = time.monotonic() + longest
        while (
            self.client is not None
            and self.client.status.state == "syncing"
            and time.monotonic() < deadline
            and not self._stop.is_set()
        ):
            time.sleep(0.5)
