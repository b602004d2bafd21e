"""ASTM E1381 (CLSI LIS1-A) low level: the host side that receives results from an instrument.

`AstmReceiver` is the pure state machine: feed it bytes, it returns the bytes
to send back (ACK, NAK, EOT) and the messages that ended. `AstmHost` is the
driver around it; `hardware.drivers.astm_records` reads the records (E1394).
The codec helpers (`checksum`, `encode_frames`) are what an instrument uses to
send and are shared with the simulator.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from hardware.drivers.astm_records import message_events, parse_message
from hardware.drivers.base import DeviceProtocol, Emit, LineSettings, Transport
from hardware.readings import LinkState

__all__ = [
    "STX",
    "ETX",
    "EOT",
    "ENQ",
    "ACK",
    "NAK",
    "ETB",
    "CR",
    "LF",
    "MAX_FRAME",
    "MAX_TEXT",
    "FORBIDDEN",
    "checksum",
    "encode_frame",
    "encode_frames",
    "AstmMessage",
    "ReceiverOutput",
    "ReceiverState",
    "AstmReceiver",
    "AstmHost",
]

log = logging.getLogger(__name__)

SOH, STX, ETX, EOT, ENQ, ACK = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
LF, CR, DLE, NAK, SYN, ETB = 0x0A, 0x0D, 0x10, 0x15, 0x16, 0x17
DC1, DC2, DC3, DC4 = 0x11, 0x12, 0x13, 0x14

#: Longest frame, STX to LF inclusive, and longest text in one frame.
MAX_FRAME = 247
MAX_TEXT = 240

#: Control characters that may not appear in frame text.
FORBIDDEN = frozenset({SOH, STX, ETX, EOT, ENQ, ACK, DLE, NAK, SYN, ETB, LF, DC1, DC2, DC3, DC4})

_FN_DIGITS = b"01234567"


def checksum(body: bytes) -> bytes:
    """Two uppercase hex digits: sum of the bytes from FN through ETX/ETB, modulo 256."""
    return b"%02X" % (sum(body) & 0xFF)


def encode_frame(number: int, text: bytes, *, last: bool) -> bytes:
    """One frame: STX FN text ETX|ETB C1 C2 CR LF."""
    body = bytes((_FN_DIGITS[number % 8],)) + text + bytes((ETX if last else ETB,))
    return bytes((STX,)) + body + checksum(body) + b"\r\n"


def encode_frames(records: Sequence[str], *, first_number: int = 1, encoding: str = "latin-1") -> list[bytes]:
    """Frames for a message, one record per frame, long records split with ETB."""
    frames: list[bytes] = []
    number = first_number
    for record in records:
        text = record.encode(encoding) + b"\r"
        chunks = [text[i : i + MAX_TEXT] for i in range(0, len(text), MAX_TEXT)]
        for i, chunk in enumerate(chunks):
            frames.append(encode_frame(number, chunk, last=i == len(chunks) - 1))
            number = (number + 1) % 8
    return frames


@dataclass(frozen=True, slots=True)
class AstmMessage:
    """The records of one transmission, ENQ to EOT; incomplete if it ended without an L record."""

    records: tuple[str, ...]
    complete: bool


@dataclass(slots=True)
class ReceiverOutput:
    """What the receiver has to say after some input: bytes to send and finished messages."""

    reply: bytearray = field(default_factory=bytearray)
    messages: list[AstmMessage] = field(default_factory=list)


class ReceiverState(enum.Enum):
    IDLE = "idle"
    PROBING = "probing"
    RECEIVING = "receiving"


class AstmReceiver:
    """E1381 receiver: acknowledges good frames, NAKs bad ones, joins records."""

    def __init__(
        self,
        *,
        receive_timeout: float = 30.0,
        probe_timeout: float = 1.0,
        encoding: str = "latin-1",
    ) -> None:
        self.receive_timeout = receive_timeout
        self.probe_timeout = probe_timeout
        self.encoding = encoding
        self.state = ReceiverState.IDLE
        self.recognised = False
        self.frames_accepted = 0
        self.naks_sent = 0
        self.duplicates = 0
        self._frame = bytearray()
        self._in_frame = False
        self._oversized = False
        self._expected = 1
        self._any_accepted = False
        self._continued = bytearray()
        self._records: list[str] = []
        self._last_activity = 0.0

    def _set_state(self, state: ReceiverState) -> None:
        if state is not self.state:
            log.debug("astm receiver: %s -> %s", self.state.value, state.value)
        self.state = state

    def probe(self, now: float) -> bytes:
        """ENQ to send when looking for an instrument; it answers ACK or NAK."""
        self._set_state(ReceiverState.PROBING)
        self._last_activity = now
        return bytes((ENQ,))

    def feed(self, data: bytes, now: float) -> ReceiverOutput:
        out = ReceiverOutput()
        if data:
            self._last_activity = now
        for byte in data:
            if self._in_frame:
                self._frame_byte(byte, out)
            elif byte == ENQ:
                self._enq(out)
            elif byte == EOT:
                if self.state is ReceiverState.RECEIVING:
                    self._end_message(out)
            elif byte == STX:
                if self.state is ReceiverState.RECEIVING:
                    self._start_frame()
            elif self.state is ReceiverState.PROBING and byte in (ACK, NAK):
                self.recognised = True
                if byte == ACK:
                    # The line is ours, but we have nothing to send: give it back.
                    out.reply.append(EOT)
                self._set_state(ReceiverState.IDLE)
        return out

    def expire(self, now: float) -> ReceiverOutput:
        """Apply the time limits: drop a message whose sender fell silent."""
        out = ReceiverOutput()
        quiet = now - self._last_activity
        if self.state is ReceiverState.RECEIVING and quiet >= self.receive_timeout:
            log.info("astm receiver: no frame for %.0f s, partial message dropped", quiet)
            self._reset_message()
            self._set_state(ReceiverState.IDLE)
        elif self.state is ReceiverState.PROBING and quiet >= self.probe_timeout:
            self._set_state(ReceiverState.IDLE)
        return out

    def _enq(self, out: ReceiverOutput) -> None:
        if self.state is ReceiverState.RECEIVING and (self._records or self._continued):
            # The sender started over without EOT: what came before is all we get of it.
            self._end_message(out)
        self.recognised = True
        self._reset_message()
        self._set_state(ReceiverState.RECEIVING)
        out.reply.append(ACK)

    def _reset_message(self) -> None:
        self._in_frame = False
        self._frame.clear()
        self._continued.clear()
        self._records = []
        self._expected = 1
        self._any_accepted = False

    def _start_frame(self) -> None:
        self._in_frame = True
        self._oversized = False
        self._frame.clear()

    def _frame_byte(self, byte: int, out: ReceiverOutput) -> None:
        if byte == EOT:
            # The sender gave up mid-frame (its reply timer ran out).
            self._in_frame = False
            self._end_message(out)
        elif byte == STX:
            self._start_frame()
        elif byte == LF:
            self._frame.append(byte)
            self._in_frame = False
            self._close_frame(out)
        elif len(self._frame) >= MAX_FRAME - 2:
            # Room is kept for STX and LF, which complete the 247 bytes.
            self._oversized = True
        else:
            self._frame.append(byte)

    def _nak(self, out: ReceiverOutput, why: str) -> None:
        log.info("astm receiver: NAK (%s)", why)
        self.naks_sent += 1
        out.reply.append(NAK)

    def _close_frame(self, out: ReceiverOutput) -> None:
        frame = bytes(self._frame)
        if self._oversized:
            self._nak(out, "frame longer than 247 bytes")
            return
        if len(frame) < 6 or frame[-2] != CR or frame[-5] not in (ETX, ETB):
            self._nak(out, "malformed frame")
            return
        body, sent = frame[:-4], frame[-4:-2]
        if checksum(body) != sent.upper():
            self._nak(out, f"checksum {sent!r}, computed {checksum(body)!r}")
            return
        if body[0] not in _FN_DIGITS:
            self._nak(out, "frame number is not 0-7")
            return
        text = body[1:-1]
        if any(b in FORBIDDEN for b in text):
            self._nak(out, "control character in frame text")
            return
        number = body[0] - 0x30
        if number != self._expected:
            if self._any_accepted and number == (self._expected - 1) % 8:
                # Our ACK was lost and the sender repeated the frame.
                self.duplicates += 1
                out.reply.append(ACK)
            else:
                self._nak(out, f"frame number {number}, expected {self._expected}")
            return
        out.reply.append(ACK)
        self.frames_accepted += 1
        self.recognised = True
        self._any_accepted = True
        self._expected = (self._expected + 1) % 8
        self._continued += text
        if body[-1] == ETX:
            self._take_records(bytes(self._continued))
            self._continued.clear()

    def _take_records(self, text: bytes) -> None:
        for raw in text.split(b"\r"):
            if not raw:
                continue
            record = raw.decode(self.encoding, "replace")
            if record.startswith("H"):
                # A header opens a new message: anything before it is abandoned.
                self._records = [record]
            else:
                self._records.append(record)

    def _end_message(self, out: ReceiverOutput) -> None:
        records = tuple(self._records)
        complete = (
            bool(records)
            and records[0].startswith("H")
            and records[-1].startswith("L")
            and not self._continued
        )
        if records:
            out.messages.append(AstmMessage(records, complete))
        self._reset_message()
        self._set_state(ReceiverState.IDLE)


class AstmHost(DeviceProtocol):
    """The host (LIS) end of an ASTM link: receives results and reports them as readings."""

    name = "astm"
    line = LineSettings(9600)
    default_model = "ASTM instrument"

    def __init__(
        self,
        emit: Emit,
        *,
        device_tz: tzinfo | None = None,
        receive_timeout: float = 30.0,
        **common: Any,
    ) -> None:
        super().__init__(emit, **common)
        self.device_tz = device_tz
        self.receiver = AstmReceiver(receive_timeout=receive_timeout, probe_timeout=self.probe_seconds)
        self.messages = 0
        self.incomplete = 0

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        if self.probing:
            self.write(self.receiver.probe(self.clock()))

    def data_received(self, data: bytes) -> None:
        self._handle(self.receiver.feed(data, self.clock()))

    def tick(self) -> None:
        self._handle(self.receiver.expire(self.clock()))

    def _handle(self, out: ReceiverOutput) -> None:
        if out.reply:
            self.write(bytes(out.reply))
        self.recognised = self.receiver.recognised
        for message in out.messages:
            if not message.complete:
                # The instrument keeps results until a whole message is acknowledged
                # and sends them again; filing a fragment would file them twice.
                self.incomplete += 1
                self.status(
                    LinkState.ERROR,
                    f"incomplete message of {len(message.records)} records discarded",
                )
                continue
            self.messages += 1
            parsed = parse_message(message.records)
            if parsed.model:
                self.device_model = parsed.model
                self.device_serial = parsed.serial
            for event in message_events(
                parsed,
                port=self.port,
                device_tz=self.device_tz,
                default_model=self.device_model,
            ):
                self.emit(event)
