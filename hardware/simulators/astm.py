"""A simulated instrument that sends results to the host over ASTM E1381/E1394.

It plays the sender of E1381: ENQ, one frame at a time, resend on NAK, give up
with EOT after six failures or a silent receiver, and keep a message queued
until all of it went through. Asked with ENQ by the host, it acknowledges and
listens, as an idle instrument does.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from hardware.drivers.astm import ACK, ENQ, EOT, LF, NAK, encode_frames
from hardware.drivers.base import LineSettings
from hardware.simulators.base import PtySimulator

__all__ = ["AstmSimulator", "glucose_message", "analyser_message", "WORKED_SESSION"]

#: The session of the protocol reference, record by record.
WORKED_SESSION: tuple[str, ...] = (
    r"H|\^&|||GlucoKiosk^1.0^SN1234|||||||P|LIS2-A2|20240315103000",
    "P|1||PAT001||Doe^Jane||19700101|F",
    "O|1|S001||^^^GLU|R|20240315102900|||||||||BLD",
    "R|1|^^^GLU|5.4|mmol/L|3.9-5.5|N||F||||20240315102930|GM01",
    "L|1|N",
)

#: Failed attempts at one frame before the sender gives up (E1381).
MAX_ATTEMPTS = 6


def glucose_message(
    value_mmol: float,
    when: datetime,
    *,
    patient: str = "PAT001",
    specimen: str = "S001",
    serial: str = "SN1234",
) -> list[str]:
    """A one-result glucose message in the shape of the worked session."""
    stamp = when.strftime("%Y%m%d%H%M%S")
    flag = "L" if value_mmol < 3.9 else "H" if value_mmol > 5.5 else "N"
    return [
        rf"H|\^&|||GlucoKiosk^1.0^{serial}|||||||P|LIS2-A2|{stamp}",
        f"P|1||{patient}||||||",
        f"O|1|{specimen}||^^^GLU|R|{stamp}|||||||||BLD",
        f"R|1|^^^GLU|{value_mmol:.1f}|mmol/L|3.9-5.5|{flag}||F||||{stamp}|GM01",
        "L|1|N",
    ]


def analyser_message(
    results: Sequence[tuple[str, float | str, str]],
    when: datetime,
    *,
    patient: str = "PAT001",
    specimen: str = "S001",
    model: str = "LabKiosk",
    serial: str = "LK0042",
) -> list[str]:
    """One specimen's results from a chemistry analyser: (test code, value, unit) per R record."""
    stamp = when.strftime("%Y%m%d%H%M%S")
    tests = "\\".join(f"^^^{code}" for code, _, _ in results)
    return [
        rf"H|\^&|||{model}^2.1^{serial}|||||||P|LIS2-A2|{stamp}",
        f"P|1||{patient}||||||",
        f"O|1|{specimen}||{tests}|R|{stamp}|||||||||SER",
        *(
            f"R|{n}|^^^{code}|{value}|{unit}||N||F||||{stamp}|{model}"
            for n, (code, value, unit) in enumerate(results, start=1)
        ),
        "L|1|N",
    ]


class _Phase(enum.Enum):
    IDLE = "idle"
    AWAIT_ENQ_REPLY = "await_enq_reply"
    AWAIT_FRAME_REPLY = "await_frame_reply"
    LISTENING = "listening"


class AstmSimulator(PtySimulator):
    """A glucose meter (by default) that transmits each result as one ASTM message."""

    protocol = "astm"
    line = LineSettings(9600)

    def __init__(
        self,
        *,
        messages: Iterable[Sequence[str]] | None = None,
        interval: float = 5.0,
        reply_timeout: float = 15.0,
        busy_wait: float = 10.0,
        retry_wait: float = 1.0,
        lost_ack_rate: float = 0.0,
        frame_gap: float = 0.0,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.queue: deque[list[str]] = deque(list(m) for m in messages or ())
        #: With no queued message, a new glucose result is made this often (0: never).
        self.interval = interval if messages is None else 0.0
        self.reply_timeout = reply_timeout
        self.busy_wait = busy_wait
        self.retry_wait = retry_wait
        #: Chance that an ACK is misheard as NAK, making the sender repeat a frame.
        self.lost_ack_rate = lost_ack_rate
        #: Pause between an ACK and the next frame, as a slow instrument takes.
        self.frame_gap = frame_gap
        self._frame_due: float | None = None
        self.phase = _Phase.IDLE
        self.delivered: list[list[str]] = []
        self.naks_received = 0
        self.aborted = 0
        #: For each time the sender gave up: NAKs for the frame then (0: the reply timed out).
        self.give_ups: list[int] = []
        self.frames_sent = 0
        self._frames: list[bytes] = []
        self._index = 0
        self._attempts = 0
        self._deadline = 0.0
        self._next_try = 0.0
        self._next_result = time.monotonic() + self.interval if self.interval else 0.0
        self._input = bytearray()

    def add_message(self, records: Sequence[str]) -> None:
        self.queue.append(list(records))

    def reset(self) -> None:
        self.phase = _Phase.IDLE
        self._frame_due = None
        self._input.clear()
        self._next_try = 0.0

    def on_input(self, data: bytes) -> None:
        self._input += data

    def step(self, now: float) -> None:
        if self.interval and now >= self._next_result:
            self._next_result = now + self.interval
            value = round(self.rng.uniform(4.2, 7.5), 1)
            self.queue.append(glucose_message(value, datetime.now()))
        data, self._input = bytes(self._input), bytearray()
        for byte in data:
            self._byte(byte, now)
        if self._frame_due is not None and now >= self._frame_due:
            self._frame_due = None
            self._send_frame(now)
        elif self.phase in (_Phase.AWAIT_ENQ_REPLY, _Phase.AWAIT_FRAME_REPLY):
            if now >= self._deadline:
                self._give_up(now)
        elif self.phase is _Phase.IDLE and self.queue and now >= self._next_try:
            self._begin(now)

    def _byte(self, byte: int, now: float) -> None:
        phase = self.phase
        if phase is _Phase.LISTENING:
            if byte == EOT:
                self.phase = _Phase.IDLE
            elif byte == LF:
                self._write(bytes((ACK,)))
        elif phase is _Phase.IDLE:
            if byte == ENQ:
                self.phase = _Phase.LISTENING
                self._write(bytes((ACK,)))
        elif phase is _Phase.AWAIT_ENQ_REPLY:
            # An ENQ from the host here is contention: the instrument wins and waits on.
            if byte == ACK:
                self._index, self._attempts = 0, 0
                self._send_frame(now)
            elif byte == NAK:
                self.phase = _Phase.IDLE
                self._next_try = now + self.busy_wait
        elif phase is _Phase.AWAIT_FRAME_REPLY:
            if byte == ACK and self.chance(self.lost_ack_rate):
                byte = NAK
            elif byte in (ACK, EOT):
                # EOT is the receiver asking us to stop soon; this sender finishes instead.
                self._index += 1
                self._attempts = 0
                if self._index < len(self._frames):
                    if self.frame_gap:
                        self._frame_due = now + self.frame_gap
                        self._deadline = self._frame_due + self.reply_timeout
                    else:
                        self._send_frame(now)
                else:
                    self._write(bytes((EOT,)))
                    self.delivered.append(self.queue.popleft())
                    self.phase = _Phase.IDLE
                    self._next_try = now
                return
            if byte == NAK:
                self.naks_received += 1
                self._attempts += 1
                if self._attempts >= MAX_ATTEMPTS:
                    self._give_up(now)
                else:
                    self._send_frame(now)

    def _begin(self, now: float) -> None:
        self._attempts = 0
        self._frames = encode_frames(self.queue[0])
        self.phase = _Phase.AWAIT_ENQ_REPLY
        self._deadline = now + self.reply_timeout
        self.send(bytes((ENQ,)))

    def _send_frame(self, now: float) -> None:
        frame = self._frames[self._index]
        if self.chance(self.bad_checksum_rate):
            self.checksums_broken += 1
            c1 = frame[-4]
            frame = frame[:-4] + bytes((c1 ^ 0x01,)) + frame[-3:]
        self.phase = _Phase.AWAIT_FRAME_REPLY
        self._deadline = now + self.reply_timeout
        self.frames_sent += 1
        self.send(frame)

    def _give_up(self, now: float) -> None:
        # The message stays queued: an instrument resends what was not acknowledged.
        self.aborted += 1
        self.give_ups.append(self._attempts)
        self._write(bytes((EOT,)))
        self.phase = _Phase.IDLE
        self._next_try = now + self.retry_wait
