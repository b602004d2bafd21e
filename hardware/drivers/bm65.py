"""Beurer BM65 blood pressure monitor: download of stored measurements at 4800 8N1.

The host asks and the device answers: ping `AA` -> `55`, identify `A4` -> 32
ASCII bytes, count `A2` -> N, record `A3 i` -> 9 bytes. There is no checksum,
so every field is range-checked, and a reply that is short (or longer than it
should be, which means line noise got in) is asked for once more.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from hardware.drivers.base import DeviceProtocol, Emit, LineSettings, Transport
from hardware.readings import (
    DIASTOLIC_BP,
    PULSE_RATE,
    SYSTOLIC_BP,
    LinkState,
    NoReading,
    NoReadingReason,
    Reading,
    utcnow,
)

__all__ = [
    "PING",
    "PONG",
    "IDENTIFY",
    "COUNT",
    "RECORD",
    "IDENTITY_LENGTH",
    "RECORD_LENGTH",
    "BpRecord",
    "parse_record",
    "encode_record",
    "record_events",
    "Bm65",
]

log = logging.getLogger(__name__)

PING = 0xAA
PONG = 0x55
IDENTIFY = 0xA4
COUNT = 0xA2
RECORD = 0xA3
IDENTITY_LENGTH = 32
RECORD_LENGTH = 9

#: The BM65's measuring ranges (instructions for use); values outside are line noise.
SYSTOLIC_RANGE = (50, 250)
DIASTOLIC_RANGE = (30, 200)
PULSE_RANGE = (40, 180)


@dataclass(frozen=True, slots=True)
class BpRecord:
    """One stored measurement; `measured_at` is the device clock's local time (naive)."""

    header: int
    systolic: int
    diastolic: int
    pulse: int
    measured_at: datetime


def parse_record(data: bytes) -> BpRecord:
    """Decode and range-check a 9-byte record; ValueError says which field is wrong."""
    if len(data) != RECORD_LENGTH:
        raise ValueError(f"record is {len(data)} bytes, expected {RECORD_LENGTH}")
    header, sys_, dia, pulse, month, day, hour, minute, year = data
    systolic, diastolic = sys_ + 25, dia + 25
    _check("systolic", systolic, SYSTOLIC_RANGE)
    _check("diastolic", diastolic, DIASTOLIC_RANGE)
    _check("pulse", pulse, PULSE_RANGE)
    if diastolic >= systolic:
        raise ValueError(f"diastolic {diastolic} is not below systolic {systolic}")
    _check("year", year, (0, 99))
    try:
        measured_at = datetime(2000 + year, month, day, hour, minute)
    except ValueError as exc:
        raise ValueError(f"no such time: 20{year:02d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}") from exc
    return BpRecord(header, systolic, diastolic, pulse, measured_at)


def _check(field: str, value: int, bounds: tuple[int, int]) -> None:
    if not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"{field} {value} is outside {bounds[0]}..{bounds[1]}")


def encode_record(record: BpRecord) -> bytes:
    """The 9 bytes a BM65 sends for `record` (used by the simulator)."""
    t = record.measured_at
    return bytes(
        (
            record.header,
            record.systolic - 25,
            record.diastolic - 25,
            record.pulse,
            t.month,
            t.day,
            t.hour,
            t.minute,
            t.year - 2000,
        )
    )


def record_events(
    record: BpRecord,
    *,
    model: str,
    port: str,
    serial: str = "",
    device_tz: tzinfo | None = None,
    index: int | None = None,
) -> list[Reading]:
    """Systolic, diastolic and pulse readings for one record, stamped with its measuring time."""
    # The cuff's clock has no zone: it shows what the user set, normally local time.
    if device_tz is None:
        stamp = record.measured_at.astimezone(UTC)
    else:
        stamp = record.measured_at.replace(tzinfo=device_tz).astimezone(UTC)
    extra: dict[str, Any] = {
        "header": record.header,
        "device_time": record.measured_at.isoformat(timespec="minutes"),
    }
    if index is not None:
        extra["index"] = index
    values = (
        (SYSTOLIC_BP, record.systolic, "mm[Hg]"),
        (DIASTOLIC_BP, record.diastolic, "mm[Hg]"),
        (PULSE_RATE, record.pulse, "/min"),
    )
    return [
        Reading(loinc, float(value), unit, model, serial, port, stamp, dict(extra))
        for loinc, value, unit in values
    ]


class _Step(enum.Enum):
    PING = "ping"
    IDENTIFY = "identify"
    COUNT = "count"
    RECORD = "record"
    IDLE = "idle"


class Bm65(DeviceProtocol):
    """Downloads every stored measurement when the cuff answers, then polls for new ones."""

    name = "bm65"
    line = LineSettings(4800)
    default_model = "Beurer BM65"
    probe_seconds = 1.5

    def __init__(
        self,
        emit: Emit,
        *,
        device_tz: tzinfo | None = None,
        reply_timeout: float = 1.0,
        settle: float = 0.05,
        ping_attempts: int = 3,
        poll_interval: float = 30.0,
        retry_interval: float = 2.0,
        **common: Any,
    ) -> None:
        super().__init__(emit, **common)
        self.device_tz = device_tz
        self.reply_timeout = reply_timeout
        #: Quiet time after the last byte before a reply counts as complete.
        self.settle = settle
        self.ping_attempts = ping_attempts
        self.poll_interval = poll_interval
        self.retry_interval = retry_interval
        self.identity = ""
        self._step = _Step.IDLE
        self._buffer = bytearray()
        self._sent_at = 0.0
        self._last_byte = 0.0
        self._attempt = 0
        self._idle_until = 0.0
        self._pings_unanswered = 0
        self._said_not_answering = False
        self._count = 0
        self._index = 0
        self._seen: set[bytes] = set()
        self._new_records = 0

    def _set_step(self, step: _Step) -> None:
        log.debug("%s: %s -> %s", self.port, self._step.value, step.value)
        self._step = step

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        self._ping()

    def _send(self, step: _Step, command: bytes) -> None:
        self._set_step(step)
        self._buffer.clear()
        self._sent_at = self._last_byte = self.clock()
        self.write(command)

    def _ping(self) -> None:
        self._send(_Step.PING, bytes((PING,)))

    def _request_record(self) -> None:
        self._send(_Step.RECORD, bytes((RECORD, self._index)))

    def data_received(self, data: bytes) -> None:
        self._last_byte = self.clock()
        if self._step is _Step.IDLE:
            return
        self._buffer += data
        if self._step is _Step.PING and PONG in self._buffer:
            self._pings_unanswered = 0
            self._said_not_answering = False
            self._attempt = 0
            self._send(_Step.IDENTIFY, bytes((IDENTIFY,)))

    def tick(self) -> None:
        now = self.clock()
        step = self._step
        if step is _Step.IDLE:
            if now >= self._idle_until:
                self._ping()
            return
        waited = now - self._sent_at
        if step is _Step.PING:
            if waited >= self.reply_timeout:
                self._ping_unanswered()
            return
        expected = {_Step.IDENTIFY: IDENTITY_LENGTH, _Step.COUNT: 1, _Step.RECORD: RECORD_LENGTH}
        want = expected[step]
        settled = now - self._last_byte >= self.settle
        if len(self._buffer) >= want and settled:
            reply = bytes(self._buffer)
            if len(reply) == want:
                self._reply(step, reply)
            else:
                self._bad_reply(step, f"{len(reply)} bytes instead of {want}")
        elif waited >= self.reply_timeout:
            self._bad_reply(step, f"{len(self._buffer)} bytes instead of {want}")

    def _ping_unanswered(self) -> None:
        self._pings_unanswered += 1
        if self._pings_unanswered >= self.ping_attempts and not self._said_not_answering:
            # The cuff sleeps unless its PC-link mode is on: say so once, keep asking.
            self._said_not_answering = True
            self.status(LinkState.NOT_ANSWERING, "no reply to ping; switch the cuff on")
        if self._pings_unanswered >= self.ping_attempts:
            self._idle(self.retry_interval)
        else:
            self._ping()

    def _idle(self, seconds: float) -> None:
        self._set_step(_Step.IDLE)
        self._idle_until = self.clock() + seconds

    def _bad_reply(self, step: _Step, problem: str) -> None:
        log.info("%s: bad %s reply: %s", self.port, step.value, problem)
        if self._attempt == 0:
            self._attempt = 1
            if step is _Step.RECORD:
                self._request_record()
            else:
                self._send(step, bytes((IDENTIFY if step is _Step.IDENTIFY else COUNT,)))
            return
        if step is _Step.RECORD:
            self.emit(
                NoReading(
                    NoReadingReason.INVALID,
                    self.device_model,
                    self.port,
                    utcnow(),
                    SYSTOLIC_BP,
                    f"record {self._index}: {problem}",
                )
            )
            self._next_record()
        elif step is _Step.IDENTIFY:
            # Identity is a nicety; go on without it.
            self._attempt = 0
            self._send(_Step.COUNT, bytes((COUNT,)))
        else:
            self.status(LinkState.NOT_ANSWERING, f"no record count: {problem}")
            self._idle(self.retry_interval)

    def _reply(self, step: _Step, reply: bytes) -> None:
        if step is _Step.IDENTIFY:
            text = reply.rstrip(b"\x00 ").decode("ascii", "replace")
            if not text.isprintable():
                self._bad_reply(step, "identity is not text")
                return
            self.identity = text.strip()
            self.recognised = True
            self.status(LinkState.IDENTIFIED, self.identity)
            self._attempt = 0
            self._send(_Step.COUNT, bytes((COUNT,)))
        elif step is _Step.COUNT:
            self._attempt = 0
            self._count = reply[0]
            self._index = 0
            self._new_records = 0
            self._next_record()
        else:
            self._record(reply)

    def _record(self, reply: bytes) -> None:
        index = self._index
        try:
            record = parse_record(reply)
        except ValueError as exc:
            if self._attempt == 0:
                # Without a checksum a bad field may be a flipped bit: ask once more.
                self._attempt = 1
                self._request_record()
                return
            self.emit(
                NoReading(
                    NoReadingReason.INVALID,
                    self.device_model,
                    self.port,
                    utcnow(),
                    SYSTOLIC_BP,
                    f"record {index}: {exc}",
                )
            )
        else:
            self.recognised = True
            if reply not in self._seen:
                self._seen.add(reply)
                self._new_records += 1
                for reading in record_events(
                    record,
                    model=self.device_model,
                    port=self.port,
                    serial=self.device_serial,
                    device_tz=self.device_tz,
                    index=index,
                ):
                    self.emit(reading)
        self._next_record()

    def _next_record(self) -> None:
        self._attempt = 0
        self._index += 1
        if self._index <= self._count:
            self._request_record()
            return
        self.status(
            LinkState.DOWNLOAD_COMPLETE,
            f"{self._count} stored, {self._new_records} new",
            stored=self._count,
            new=self._new_records,
        )
        self._idle(self.poll_interval)
