"""Mettler-Toledo MT-SICS scales: CRLF-terminated ASCII commands at 9600 8N1.

The driver asks for the serial number (`I4`) and the model (`I2`), then polls
the weight with `SI` and reports a body-weight reading each time the scale
settles on a new load. `SicsLineParser` and `parse_reply` are the pure parts.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from hardware.drivers.base import DeviceProtocol, Emit, LineSettings, Transport
from hardware.readings import (
    BODY_WEIGHT,
    MEASUREMENTS,
    LinkState,
    NoReading,
    NoReadingReason,
    Reading,
    utcnow,
    weight_to_kg,
)

__all__ = [
    "SicsReply",
    "SicsLineParser",
    "parse_reply",
    "Weight",
    "parse_weight",
    "MtSics",
    "MAX_LINE",
]

log = logging.getLogger(__name__)

#: Longest reply line kept; a longer one is noise on the line.
MAX_LINE = 128
_TOKEN = re.compile(r'"[^"]*"|\S+')
_ERRORS = {"ES": "syntax error", "ET": "transmission error", "EL": "logic error"}


@dataclass(frozen=True, slots=True)
class SicsReply:
    """One reply line: command echo, status letter and the remaining tokens (quotes removed)."""

    command: str
    status: str
    args: tuple[str, ...]


def parse_reply(line: str) -> SicsReply | None:
    """Split a reply line; None if it is not shaped like MT-SICS."""
    tokens = [t[1:-1] if t.startswith('"') else t for t in _TOKEN.findall(line)]
    if not tokens:
        return None
    head = tokens[0]
    if head in _ERRORS and len(tokens) == 1:
        return SicsReply(head, "", ())
    if not (head.isascii() and head.isalnum() and head[:1].isalpha() and len(head) <= 4):
        return None
    if len(tokens) < 2 or tokens[1] not in {"A", "B", "S", "D", "I", "L", "+", "-"}:
        return None
    return SicsReply(head, tokens[1], tuple(tokens[2:]))


class SicsLineParser:
    """Splits the byte stream into reply lines (CR LF, or either alone) and parses them."""

    def __init__(self) -> None:
        self._line = bytearray()
        self._overflow = False

    def feed(self, data: bytes) -> list[SicsReply]:
        out: list[SicsReply] = []
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._line and not self._overflow:
                    reply = parse_reply(self._line.decode("ascii", "replace"))
                    if reply is not None:
                        out.append(reply)
                self._line.clear()
                self._overflow = False
            elif len(self._line) >= MAX_LINE:
                self._overflow = True
            else:
                self._line.append(byte)
        return out


@dataclass(frozen=True, slots=True)
class Weight:
    kg: float
    stable: bool


def parse_weight(reply: SicsReply) -> Weight:
    """The weight in an `S S`/`S D` (or `SI`) reply; ValueError if it carries none."""
    if reply.command not in ("S", "SI") or reply.status not in ("S", "D"):
        raise ValueError(f"not a weight reply: {reply.command} {reply.status}")
    if len(reply.args) != 2:
        raise ValueError(f"weight reply has {len(reply.args)} fields, expected value and unit")
    value = float(reply.args[0])
    return Weight(weight_to_kg(value, reply.args[1]), reply.status == "S")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class MtSics(DeviceProtocol):
    """Polls an MT-SICS scale and reports a body weight once per settled load."""

    name = "mtsics"
    line = LineSettings(9600)
    default_model = "Mettler-Toledo scale"

    def __init__(
        self,
        emit: Emit,
        *,
        poll_interval: float = 0.25,
        reply_timeout: float = 1.0,
        min_load_kg: float = 2.0,
        **common: Any,
    ) -> None:
        super().__init__(emit, **common)
        self.poll_interval = poll_interval
        self.reply_timeout = reply_timeout
        #: Below this the platform counts as empty: no body weight to report.
        self.min_load_kg = min_load_kg
        self.parser = SicsLineParser()
        self.weigh_command = "SI"
        self._queue: deque[str] = deque()
        self._outstanding: str | None = None
        self._sent_at = 0.0
        self._retried = False
        self._said_not_answering = False
        self._state: tuple[str, float] | None = None
        self.zero_result: str | None = None

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        self._queue.extend(("I4", "I2"))
        self._next()

    def zero(self) -> None:
        """Ask the scale to zero itself; the outcome lands in `zero_result`."""
        self._queue.append("Z")

    def _send(self, command: str) -> None:
        self._outstanding = command
        self._sent_at = self.clock()
        self.write(command.encode("ascii") + b"\r\n")

    def _next(self) -> None:
        if self._queue:
            self._retried = False
            self._send(self._queue.popleft())

    def data_received(self, data: bytes) -> None:
        for reply in self.parser.feed(data):
            self._reply(reply)

    def tick(self) -> None:
        now = self.clock()
        if self._outstanding is not None:
            if now - self._sent_at < self.reply_timeout:
                return
            if not self._retried:
                self._retried = True
                self._send(self._outstanding)
                return
            if not self._said_not_answering:
                self._said_not_answering = True
                self.status(LinkState.NOT_ANSWERING, f"no reply to {self._outstanding}")
            self._outstanding = None
        if self._queue:
            self._next()
        elif now - self._sent_at >= self.poll_interval:
            self._retried = False
            self._send(self.weigh_command)

    def _reply(self, reply: SicsReply) -> None:
        command, self._outstanding = self._outstanding, None
        self.recognised = True
        self._said_not_answering = False
        if reply.command in _ERRORS:
            log.info("%s: scale answered %s to %s", self.port, _ERRORS[reply.command], command)
            if command == "SI":
                # Some models lack SI; S waits for a stable value and works everywhere.
                self.weigh_command = "S"
        elif reply.command == "I4" and reply.status == "A" and reply.args:
            self.device_serial = reply.args[0]
        elif reply.command == "I2" and reply.status == "A" and reply.args:
            self.device_model = f"Mettler-Toledo {reply.args[0]}"
            self.status(LinkState.IDENTIFIED, f"{self.device_model} {self.device_serial}".strip())
        elif reply.command == "Z":
            self.zero_result = reply.status
        elif reply.command in ("S", "SI"):
            self._weight(reply)
        self._next()

    def _weight(self, reply: SicsReply) -> None:
        if reply.status in ("+", "-"):
            self._change("overload" if reply.status == "+" else "underload", 0.0)
            return
        if reply.status == "I":
            return  # busy: the next poll asks again
        try:
            weight = parse_weight(reply)
        except ValueError as exc:
            if len(reply.args) == 2 and _is_number(reply.args[0]):
                # Well formed, in a unit we cannot convert: the scale's setup, not noise.
                self._change("invalid", 0.0, str(exc))
            else:
                # A line cut short and glued to the next one: the next poll asks again.
                log.info("%s: malformed weight reply ignored: %s", self.port, exc)
            return
        if not weight.stable:
            self._state = ("moving", 0.0)
        elif weight.kg < self.min_load_kg:
            self._change("empty", 0.0)
        elif not MEASUREMENTS[BODY_WEIGHT].accepts(weight.kg):
            self._change("invalid", 0.0, f"{weight.kg} kg is not a body weight")
        else:
            self._change("loaded", round(weight.kg, 3))

    def _change(self, state: str, kg: float, detail: str = "") -> None:
        if self._state == (state, kg):
            return
        self._state = (state, kg)
        now = utcnow()
        if state == "loaded":
            extra = {"stable": True}
            self.emit(
                Reading(
                    BODY_WEIGHT,
                    kg,
                    "kg",
                    self.device_model,
                    self.device_serial,
                    self.port,
                    now,
                    extra,
                )
            )
        elif state == "empty":
            self.emit(
                NoReading(
                    NoReadingReason.SEARCHING,
                    self.device_model,
                    self.port,
                    now,
                    BODY_WEIGHT,
                    "nobody on the scale",
                )
            )
        else:
            self.emit(
                NoReading(
                    NoReadingReason.INVALID,
                    self.device_model,
                    self.port,
                    now,
                    BODY_WEIGHT,
                    detail or state,
                )
            )
