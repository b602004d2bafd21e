"""Wall-clock helpers and the hybrid logical clock that orders every change.

All stored times are naive UTC datetimes; pages convert them to the user's zone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["utcnow", "local_date", "HybridClock", "Stamp"]


def utcnow() -> datetime:
    """Current time as a naive UTC datetime (how every time is stored)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def local_date(zone: str, now: datetime | None = None) -> date:
    """The calendar date in the IANA time zone `zone` at `now` (naive UTC; default: now).

    An unknown zone counts as Moscow's, the directories' default.
    """
    try:
        tz = ZoneInfo(zone or "Europe/Moscow")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("Europe/Moscow")
    return (now or utcnow()).replace(tzinfo=UTC).astimezone(tz).date()


@dataclass(frozen=True, order=True)
class Stamp:
    """One HLC reading: physical milliseconds, logical counter, replica id."""

    wall_ms: int
    counter: int
    replica: str

    def encode(self) -> str:
        # Fixed-width so that string order equals stamp order in SQL.
        return f"{self.wall_ms:013d}.{self.counter:06d}.{self.replica}"

    @classmethod
    def decode(cls, text: str) -> Stamp:
        try:
            wall, counter, replica = text.split(".", 2)
            if not (len(wall) == 13 and len(counter) == 6 and wall.isdigit() and counter.isdigit()):
                raise ValueError
            if not 0 < len(replica) <= 64:
                raise ValueError
            return cls(int(wall), int(counter), replica)
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"not a clock stamp: {str(text)[:80]!r}") from exc


class HybridClock:
    """Hybrid logical clock (Kulkarni et al.): monotonic even if the wall clock jumps back."""

    #: A remote stamp further ahead than this is refused: a peer's clock is broken.
    MAX_DRIFT_MS = 366 * 24 * 3600 * 1000

    def __init__(self, replica: str, last: str | None = None, now_ms=None) -> None:
        self.replica = replica
        self._now_ms = now_ms or (lambda: int(time.time() * 1000))
        #: Correction to the local wall clock, measured against central's at `hello`:
        #: a kiosk whose clock is days wrong still stamps in central's time.
        self.offset_ms = 0
        self._lock = threading.Lock()
        self._wall, self._counter = 0, 0
        if last:
            seen = Stamp.decode(last)
            self._wall, self._counter = seen.wall_ms, seen.counter

    def now(self) -> str:
        """A stamp for a local change, greater than every stamp seen so far."""
        with self._lock:
            physical = self._now_ms() + self.offset_ms
            if physical > self._wall:
                self._wall, self._counter = physical, 0
            else:
                self._counter += 1
            return Stamp(self._wall, self._counter, self.replica).encode()

    def ahead_by(self) -> int:
        """How far the last stamp runs ahead of the (corrected) wall clock, in ms (0 if not)."""
        with self._lock:
            return max(0, self._wall - (self._now_ms() + self.offset_ms))

    def rewind(self) -> str:
        """Back to the corrected wall clock after stamps made while the clock was wrong, which the
        caller re-stamps; returns the lowest stamp not to be re-stamped (all below are sound)."""
        with self._lock:
            self._wall, self._counter = self._now_ms() + self.offset_ms, 0
            return Stamp(self._wall, 0, "").encode()

    def observe(self, remote: str, max_drift_ms: int | None = None) -> None:
        """Advance past a stamp received from a peer; refuse one further ahead of our wall
        clock than `max_drift_ms` (default MAX_DRIFT_MS), so that it cannot drag us along."""
        stamp = Stamp.decode(remote)
        bound = self.MAX_DRIFT_MS if max_drift_ms is None else max_drift_ms
        with self._lock:
            physical = self._now_ms() + self.offset_ms
            if stamp.wall_ms - physical > bound:
                raise ValueError(f"clock stamp too far in the future: {remote}")
            if stamp.wall_ms > self._wall or (stamp.wall_ms == self._wall and stamp.counter > self._counter):
                self._wall, self._counter = stamp.wall_ms, stamp.counter
