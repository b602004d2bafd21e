"""A simulated Beurer BM65 cuff with measurements in its memory, answering at 4800 8N1."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from hardware.drivers.base import LineSettings
from hardware.drivers.bm65 import (
    COUNT,
    IDENTIFY,
    IDENTITY_LENGTH,
    PING,
    PONG,
    RECORD,
    BpRecord,
    encode_record,
)
from hardware.simulators.base import PtySimulator

__all__ = ["Bm65Simulator", "sample_records"]

IDENTITY = b"BM65 Beurer GmbH  SIM0000000001 "


def sample_records(
    count: int, rng: random.Random | None = None, newest: datetime | None = None
) -> list[BpRecord]:
    """Plausible stored measurements, newest first (index 1 is the newest on a BM65)."""
    rng = rng or random.Random()
    when = (newest or datetime.now()).replace(second=0, microsecond=0)
    out = []
    for _ in range(count):
        systolic = rng.randint(105, 150)
        diastolic = rng.randint(65, min(95, systolic - 25))
        out.append(BpRecord(0x00, systolic, diastolic, rng.randint(55, 95), when))
        when -= timedelta(hours=rng.randint(8, 30), minutes=rng.randint(0, 59))
    return out


class Bm65Simulator(PtySimulator):
    """Answers ping, identify, count and record requests from its memory."""

    protocol = "bm65"
    line = LineSettings(4800)

    def __init__(
        self,
        *,
        records: Iterable[BpRecord | bytes] | None = None,
        identity: bytes = IDENTITY,
        short_once: Iterable[int] = (),
        **options: Any,
    ) -> None:
        super().__init__(**options)
        if records is None:
            records = sample_records(5, self.rng)
        #: Stored records as sent, index 1 first; raw bytes allow out-of-range content.
        self.memory: list[bytes] = [r if isinstance(r, bytes) else encode_record(r) for r in records]
        self.identity = identity.ljust(IDENTITY_LENGTH)[:IDENTITY_LENGTH]
        #: Indexes whose first reply is cut short, to exercise the host's retry.
        self.short_once = set(short_once)
        #: A sleeping cuff answers nothing.
        self.asleep = False
        self.requests: list[tuple[int, ...]] = []
        self._pending_record = False

    def reset(self) -> None:
        self._pending_record = False

    def on_input(self, data: bytes) -> None:
        for byte in data:
            if self._pending_record:
                self._pending_record = False
                self.requests.append((RECORD, byte))
                self._record(byte)
                continue
            if self.asleep:
                continue
            if byte == PING:
                self.requests.append((PING,))
                self.send(bytes((PONG,)))
            elif byte == IDENTIFY:
                self.requests.append((IDENTIFY,))
                self.send(self.identity)
            elif byte == COUNT:
                self.requests.append((COUNT,))
                self.send(bytes((len(self.memory),)))
            elif byte == RECORD:
                self._pending_record = True

    def _record(self, index: int) -> None:
        if self.asleep or not 1 <= index <= len(self.memory):
            return
        reply = self.memory[index - 1]
        if index in self.short_once:
            self.short_once.discard(index)
            self.frames_cut += 1
            reply = reply[: self.rng.randint(1, len(reply) - 1)]
            self._write(reply)
            return
        self.send(reply)
