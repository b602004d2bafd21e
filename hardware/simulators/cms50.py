"""Simulated Contec CMS50 oximeters: the legacy stream and the V7 protocol.

Values drift the way a resting patient's do: SpO2 wanders within 95-99 %,
pulse within 60-90/min, and the pleth trace follows the pulse with a
systolic peak and a dicrotic notch.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from typing import Any

from hardware.drivers.base import LineSettings
from hardware.drivers.cms50 import (
    V7_START,
    V7_STOP,
    OximeterSample,
    encode_legacy,
    encode_v7,
)
from hardware.simulators.base import PtySimulator

__all__ = ["OximeterSignal", "Cms50LegacySimulator", "Cms50V7Simulator"]


class OximeterSignal:
    """A plausible stream of samples at `rate` per second."""

    def __init__(self, rate: float = 60.0, rng: random.Random | None = None) -> None:
        self.rate = rate
        self.rng = rng or random.Random()
        self.spo2 = self.rng.uniform(96.0, 98.0)
        self.pulse = self.rng.uniform(65.0, 80.0)
        self.phase = 0.0
        self.finger_in = True
        self._shown = (int(round(self.spo2)), int(round(self.pulse)))
        self._until_refresh = 0

    def _drift(self, value: float, low: float, high: float, step: float) -> float:
        value += self.rng.gauss(0.0, step)
        # Reflect at the bounds so the value lingers inside instead of sticking to them.
        if value < low:
            value = 2 * low - value
        if value > high:
            value = 2 * high - value
        return min(max(value, low), high)

    def next(self) -> OximeterSample:
        if not self.finger_in:
            return OximeterSample(spo2=127, pulse_rate=255, pleth=0, signal=0, bar=0, finger_out=True)
        per_second = 1.0 / self.rate
        self.spo2 = self._drift(self.spo2, 95.0, 99.0, 0.25 * math.sqrt(per_second))
        self.pulse = self._drift(self.pulse, 60.0, 90.0, 1.0 * math.sqrt(per_second))
        self.phase = (self.phase + self.pulse / 60.0 * per_second) % 1.0
        wave = math.exp(-(((self.phase - 0.2) / 0.08) ** 2)) + 0.35 * math.exp(
            -(((self.phase - 0.5) / 0.1) ** 2)
        )
        pleth = int(round(10 + 80 * wave / 1.05))
        # Like the device, show new SpO2 and PR once a second and repeat them in between.
        if self._until_refresh <= 0:
            self._until_refresh = int(self.rate)
            self._shown = (int(round(self.spo2)), int(round(self.pulse)))
        self._until_refresh -= 1
        return OximeterSample(
            spo2=self._shown[0],
            pulse_rate=self._shown[1],
            pleth=max(0, min(pleth, 100)),
            signal=self.rng.choice((6, 7, 8)),
            bar=max(0, min(15, pleth // 7)),
            beep=self.phase < 0.2 <= self.phase + self.pulse / 60.0 / self.rate,
        )


class _OximeterSimulator(PtySimulator):
    packet_size = 0

    def __init__(self, *, rate: float = 60.0, stream: bool = True, **options: Any) -> None:
        super().__init__(**options)
        #: Packets per second; 0 sends as fast as the host reads.
        self.rate = rate
        #: False sends only what is injected: for exact byte sequences in tests.
        self.stream = stream
        self.signal = OximeterSignal(rate or 60.0, self.rng)
        self.packets_sent = 0
        self._next_at = 0.0
        self._replay = b""

    @property
    def finger_in(self) -> bool:
        return self.signal.finger_in

    @finger_in.setter
    def finger_in(self, value: bool) -> None:
        self.signal.finger_in = value

    def streaming(self) -> bool:
        return True

    def encode(self, sample: OximeterSample) -> bytes:
        raise NotImplementedError

    def corrupt(self, packet: bytes) -> bytes:
        """Break the sync rule in one data byte: what a parity error would leave behind."""
        i = self.rng.randrange(1, len(packet))
        self.checksums_broken += 1
        return packet[:i] + bytes((packet[i] ^ 0x80,)) + packet[i + 1 :]

    def step(self, now: float) -> None:
        if not (self.stream and self.streaming()):
            self._next_at = now
            return
        if self.rate <= 0:
            burst = 600
        else:
            if self._next_at == 0.0 or now - self._next_at > 1.0:
                self._next_at = now
            burst = 0
            while self._next_at <= now and burst < 16:
                self._next_at += 1.0 / self.rate
                burst += 1
        if self.rate <= 0 and not (self.garbage_rate or self.partial_rate or self.bad_checksum_rate):
            # Flat out, generating each packet would measure the simulator, not the host:
            # replay ten seconds of signal in large writes instead.
            if not self._replay:
                self._replay = b"".join(self.encode(self.signal.next()) for _ in range(600))
            if self._write(self._replay[: burst * self.packet_size]):
                self.packets_sent += burst
            return
        for _ in range(burst):
            packet = self.encode(self.signal.next())
            if self.chance(self.bad_checksum_rate):
                packet = self.corrupt(packet)
            if self.send(packet):
                self.packets_sent += 1


class Cms50LegacySimulator(_OximeterSimulator):
    """A CMS50D+ (firmware <= 4.5): 5-byte packets, unasked, at 19200 8O1."""

    protocol = "cms50-legacy"
    line = LineSettings(19200, parity="O")
    packet_size = 5

    def encode(self, sample: OximeterSample) -> bytes:
        return encode_legacy(sample)


class Cms50V7Simulator(_OximeterSimulator):
    """A CMS50E/F: streams 9-byte realtime packets after A1, until A2 or ~30 s without AF."""

    protocol = "cms50-v7"
    line = LineSettings(115200)
    packet_size = 9

    def __init__(
        self, *, stall_after: float = 30.0, clock: Callable[[], float] = time.monotonic, **options: Any
    ) -> None:
        super().__init__(**options)
        #: The firmware stops streaming when the host stays silent this long.
        self.stall_after = stall_after
        #: What that silence is timed on (seconds); tests pass a clock they move on by hand.
        self.clock = clock
        self.commands: list[int] = []
        self._command = bytearray()
        self._active = False
        self._last_command = 0.0

    def reset(self) -> None:
        self._active = False
        self._command = bytearray()

    def pause(self) -> None:
        """Stop streaming as the firmware does at times; the host must send A1 again."""
        self._active = False

    def streaming(self) -> bool:
        if self._active and self.clock() - self._last_command > self.stall_after:
            self._active = False
        return self._active

    def on_input(self, data: bytes) -> None:
        # Stored-data and identity commands are not simulated; the keep-alive only
        # needs to be heard.
        for byte in data:
            if byte == 0x7D:
                self._command = bytearray((byte,))
            elif self._command:
                self._command.append(byte)
                if len(self._command) == 9:
                    code = self._command[2]
                    self._command.clear()
                    self.commands.append(code)
                    self._last_command = self.clock()
                    if code == V7_START:
                        self._active = True
                    elif code == V7_STOP:
                        self._active = False

    def encode(self, sample: OximeterSample) -> bytes:
        pi = 0xFFFF
        d0 = (sample.signal & 0x0F) | (0x80 if sample.finger_out else 0)
        return encode_v7(
            0x01,
            (d0, sample.pleth, sample.bar or 0, sample.pulse_rate, sample.spo2, pi >> 8, pi & 0xFF),
        )
