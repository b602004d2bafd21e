"""Contec CMS50D+/E/F pulse oximeters: the legacy 5-byte stream and the V7 9-byte protocol.

The parsers (`LegacyStreamParser`, `V7StreamParser`) are pure and incremental:
feed them any bytes, they return the packets that pass the sync rules and
keep the rest. Neither family has a checksum, so `GlitchFilter` lets a sample
through only when a neighbouring packet agrees with it, and `sample_events`
turns a sample into readings or no-readings. The protocol classes add the
line handling: V7 must be started with A1 and kept alive with AF; the legacy
stream talks unasked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hardware.drivers.base import DeviceProtocol, Emit, LineSettings, Transport
from hardware.readings import (
    PULSE_RATE,
    SPO2,
    NoReading,
    NoReadingReason,
    Reading,
    utcnow,
)

__all__ = [
    "OximeterSample",
    "LegacyStreamParser",
    "V7Packet",
    "V7StreamParser",
    "V7_REPLY_LENGTHS",
    "V7_START",
    "V7_STOP",
    "V7_KEEPALIVE",
    "v7_command",
    "decode_legacy",
    "encode_legacy",
    "decode_v7_realtime",
    "encode_v7",
    "sample_events",
    "GlitchFilter",
    "SPO2_RANGE",
    "PULSE_RANGE",
    "Cms50Legacy",
    "Cms50Legacy4800",
    "Cms50V7",
]

#: SpO2 values the CMS50 family can measure; 127 marks "no value", 0 means nothing measured.
SPO2_RANGE = (35, 100)
#: Pulse rates the CMS50 family can measure; 0 and 255 mark "no value".
PULSE_RANGE = (25, 250)

V7_START = 0xA1
V7_STOP = 0xA2
V7_KEEPALIVE = 0xAF

#: Packet length by type byte (OSCAR `cms50f37_loader.cpp`); 0x01 is the realtime packet.
V7_REPLY_LENGTHS: dict[int, int] = {
    0x01: 9,
    0x02: 9,
    0x03: 9,
    0x04: 9,
    0x05: 9,
    0x06: 4,
    0x07: 8,
    0x08: 8,
    0x09: 6,
    0x0A: 4,
    0x0B: 4,
    0x0C: 2,
    0x0E: 3,
    0x0F: 8,
    0x10: 3,
    0x11: 9,
    0x12: 8,
    0x13: 9,
    0x14: 9,
}


@dataclass(frozen=True, slots=True)
class OximeterSample:
    """One decoded realtime packet, before validation."""

    spo2: int
    pulse_rate: int
    pleth: int
    signal: int
    bar: int | None = None
    finger_out: bool = False
    searching: bool = False
    probe_error: bool = False
    beep: bool = False
    spo2_dropping: bool = False
    pi_raw: int | None = None


# --- legacy 5-byte stream ---------------------------------------------------------------


def decode_legacy(packet: Sequence[int]) -> OximeterSample:
    """Decode one synchronised 5-byte legacy packet."""
    b0, b1, b2, b3, b4 = packet
    return OximeterSample(
        spo2=b4 & 0x7F,
        pulse_rate=((b2 & 0x40) << 1) | (b3 & 0x7F),
        pleth=b1 & 0x7F,
        signal=b0 & 0x0F,
        bar=b2 & 0x0F,
        finger_out=bool(b0 & 0x10),
        searching=bool(b2 & 0x20),
        probe_error=bool(b2 & 0x10),
        beep=bool(b0 & 0x40),
        spo2_dropping=bool(b0 & 0x20),
    )


def encode_legacy(sample: OximeterSample) -> bytes:
    """The legacy packet a device would send for `sample` (used by the simulator)."""
    b0 = 0x80 | (sample.signal & 0x0F)
    b0 |= 0x40 if sample.beep else 0
    b0 |= 0x20 if sample.spo2_dropping else 0
    b0 |= 0x10 if sample.finger_out else 0
    b2 = ((sample.pulse_rate >> 7) & 1) << 6 | ((sample.bar or 0) & 0x0F)
    b2 |= 0x20 if sample.searching else 0
    b2 |= 0x10 if sample.probe_error else 0
    return bytes((b0, sample.pleth & 0x7F, b2, sample.pulse_rate & 0x7F, sample.spo2 & 0x7F))


class LegacyStreamParser:
    """Splits the legacy stream into packets: bit 7 set in byte 0 only."""

    def __init__(self) -> None:
        self._packet = bytearray()
        self.dropped = 0

    @property
    def pending(self) -> bool:
        return bool(self._packet)

    def reset(self) -> None:
        self.dropped += len(self._packet)
        self._packet.clear()

    def feed(self, data: bytes) -> list[OximeterSample]:
        out: list[OximeterSample] = []
        packet = self._packet
        for byte in data:
            if byte & 0x80:
                # A sync byte mid-packet means bytes were lost: restart from it.
                self.dropped += len(packet)
                packet.clear()
                packet.append(byte)
            elif packet:
                packet.append(byte)
                if len(packet) == 5:
                    out.append(decode_legacy(packet))
                    packet.clear()
            else:
                self.dropped += 1
        return out


# --- V7 9-byte protocol -----------------------------------------------------------------


def v7_command(code: int) -> bytes:
    """The 9-byte host command carrying `code` (A1 start, A2 stop, AF keep-alive, ...)."""
    return bytes((0x7D, 0x81, code, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80))


@dataclass(frozen=True, slots=True)
class V7Packet:
    """A V7 packet with its data bytes restored to 8 bits."""

    type: int
    data: tuple[int, ...]


def encode_v7(packet_type: int, data: Sequence[int]) -> bytes:
    """Encode 8-bit data bytes as a V7 packet: MSBs gathered into the `hi` byte."""
    hi = 0x80
    for i, value in enumerate(data):
        hi |= ((value >> 7) & 1) << i
    return bytes((packet_type & 0x7F, hi, *(0x80 | (v & 0x7F) for v in data)))


class V7StreamParser:
    """Splits a V7 byte stream into packets: the type byte is the only one below 0x80."""

    def __init__(self) -> None:
        self._packet = bytearray()
        self._expected = 0
        self.dropped = 0

    @property
    def pending(self) -> bool:
        return bool(self._packet)

    def reset(self) -> None:
        self.dropped += len(self._packet)
        self._packet.clear()
        self._expected = 0

    def feed(self, data: bytes) -> list[V7Packet]:
        out: list[V7Packet] = []
        packet = self._packet
        for byte in data:
            if byte < 0x80:
                self.dropped += len(packet)
                packet.clear()
                self._expected = V7_REPLY_LENGTHS.get(byte, 0)
                if self._expected:
                    packet.append(byte)
                else:
                    self.dropped += 1
            elif packet:
                packet.append(byte)
                if len(packet) == self._expected:
                    out.append(_restore(packet))
                    packet.clear()
            else:
                self.dropped += 1
        return out


def _restore(packet: bytearray) -> V7Packet:
    hi = packet[1]
    data = tuple((packet[i] & 0x7F) | (((hi >> (i - 2)) & 1) << 7) for i in range(2, len(packet)))
    return V7Packet(packet[0], data)


def decode_v7_realtime(packet: V7Packet) -> OximeterSample:
    """Decode a realtime (type 0x01) packet.

    Only signal, pleth, PR, SpO2 and PI are documented. Finger-out as bit 7 of
    d0 is inferred from MarkMLl's capture and awaits confirmation on a device.
    """
    d = packet.data
    pi_raw = (d[5] << 8) | d[6]
    return OximeterSample(
        spo2=d[4],
        pulse_rate=d[3],
        pleth=d[1],
        signal=d[0] & 0x0F,
        bar=d[2],
        finger_out=bool(d[0] & 0x80),
        pi_raw=None if pi_raw == 0xFFFF else pi_raw,
    )


# --- samples to readings ----------------------------------------------------------------


def sample_events(
    sample: OximeterSample, *, model: str, port: str, serial: str = ""
) -> list[Reading | NoReading]:
    """One SpO2 and one pulse event for a sample: a reading, or a no-reading with its reason."""
    now = utcnow()
    reason: NoReadingReason | None = None
    if sample.finger_out:
        reason = NoReadingReason.FINGER_OUT
    elif sample.probe_error:
        reason = NoReadingReason.PROBE_ERROR
    elif sample.searching:
        reason = NoReadingReason.SEARCHING
    if reason is not None:
        return [NoReading(reason, model, port, now, loinc) for loinc in (SPO2, PULSE_RATE)]

    out: list[Reading | NoReading] = []
    if SPO2_RANGE[0] <= sample.spo2 <= SPO2_RANGE[1]:
        extra: dict[str, object] = {"pleth": sample.pleth, "signal": sample.signal}
        if sample.bar is not None:
            extra["bar"] = sample.bar
        if sample.beep:
            extra["beep"] = True
        if sample.pi_raw is not None:
            extra["pi_raw"] = sample.pi_raw
        out.append(Reading(SPO2, float(sample.spo2), "%", model, serial, port, now, extra))
    else:
        out.append(NoReading(NoReadingReason.INVALID, model, port, now, SPO2, f"SpO2 {sample.spo2}"))
    if PULSE_RANGE[0] <= sample.pulse_rate <= PULSE_RANGE[1]:
        out.append(Reading(PULSE_RATE, float(sample.pulse_rate), "/min", model, serial, port, now))
    else:
        out.append(
            NoReading(NoReadingReason.INVALID, model, port, now, PULSE_RATE, f"PR {sample.pulse_rate}")
        )
    return out


class GlitchFilter:
    """Passes a sample only if its values agree with the packet before or after it.

    The oximeter refreshes SpO2 and PR about once a second and repeats them in
    every packet, so a real value always has an identical neighbour; a packet
    forged by line noise (neither family has a checksum) almost never does.
    The price is one packet (1/60 s) of delay.
    """

    def __init__(self) -> None:
        self._held: OximeterSample | None = None
        self._held_agreed = False
        self.rejected = 0

    @staticmethod
    def _key(sample: OximeterSample) -> tuple[int, int, bool, bool, bool]:
        return (
            sample.spo2,
            sample.pulse_rate,
            sample.finger_out,
            sample.searching,
            sample.probe_error,
        )

    def push(self, sample: OximeterSample) -> list[OximeterSample]:
        """Take the next sample; return the held one if it is confirmed."""
        out: list[OximeterSample] = []
        held = self._held
        agree = held is not None and self._key(held) == self._key(sample)
        if held is not None:
            if agree or self._held_agreed:
                out.append(held)
            else:
                self.rejected += 1
        self._held, self._held_agreed = sample, agree
        return out

    def flush(self) -> list[OximeterSample]:
        """The stream paused: release the held sample if it was confirmed, else drop it."""
        held, agreed = self._held, self._held_agreed
        self._held, self._held_agreed = None, False
        if held is None:
            return []
        if not agreed:
            self.rejected += 1
            return []
        return [held]


class _OximeterProtocol(DeviceProtocol):
    """What both CMS50 families share: sample to events, with no-readings sent once per change."""

    silence_timeout = 10.0
    #: A partial packet older than this is dropped instead of being glued to the next bytes.
    partial_timeout = 0.5
    #: Consecutive good packets before detection trusts the stream.
    packets_to_recognise = 3

    parser: LegacyStreamParser | V7StreamParser

    def __init__(self, emit: Emit, **common: Any) -> None:
        super().__init__(emit, **common)
        self._absent: dict[str, NoReadingReason] = {}
        self._last_data = self.clock()
        self._last_packet = self._last_data
        self.filter = GlitchFilter()
        #: Packets decoded, and those that passed the glitch filter.
        self.packets = 0
        self.samples = 0

    def _packet(self, sample: OximeterSample) -> None:
        self.packets += 1
        self._last_packet = self.clock()
        for confirmed in self.filter.push(sample):
            self._sample(confirmed)

    def _flush_if_quiet(self) -> None:
        if self.clock() - self._last_data > self.partial_timeout:
            if self.parser.pending:
                self.parser.reset()
            for confirmed in self.filter.flush():
                self._sample(confirmed)

    def _sample(self, sample: OximeterSample) -> None:
        self.samples += 1
        if self.samples >= self.packets_to_recognise:
            self.recognised = True
        for event in sample_events(
            sample, model=self.device_model, port=self.port, serial=self.device_serial
        ):
            if isinstance(event, NoReading):
                # A no-reading repeats 60 times a second while a finger is out:
                # tell it once per change, not every packet.
                if self._absent.get(event.loinc) == event.reason:
                    continue
                self._absent[event.loinc] = event.reason
            else:
                self._absent.pop(event.loinc, None)
            self.emit(event)


class Cms50Legacy(_OximeterProtocol):
    """CMS50D+ firmware <= 4.5: an unsolicited 5-byte stream at 19200 8O1."""

    name = "cms50-legacy"
    line = LineSettings(19200, parity="O")
    default_model = "Contec CMS50D+"

    def __init__(self, emit: Emit, **common: Any) -> None:
        super().__init__(emit, **common)
        self.parser: LegacyStreamParser = LegacyStreamParser()

    def data_received(self, data: bytes) -> None:
        self._last_data = self.clock()
        for sample in self.parser.feed(data):
            self._packet(sample)

    def tick(self) -> None:
        self._flush_if_quiet()


class Cms50Legacy4800(Cms50Legacy):
    """The legacy stream at 4800 8N1, as one translated manual gives it."""

    name = "cms50-legacy-4800"
    line = LineSettings(4800)


class Cms50V7(_OximeterProtocol):
    """CMS50D+ 4.6, CMS50E/F: 9-byte packets at 115200 8N1, started with A1, kept alive with AF."""

    name = "cms50-v7"
    line = LineSettings(115200)
    default_model = "Contec CMS50 (V7)"
    packets_to_recognise = 2

    def __init__(
        self,
        emit: Emit,
        *,
        keepalive_interval: float = 5.0,
        restart_after: float = 2.0,
        **common: Any,
    ) -> None:
        super().__init__(emit, **common)
        self.parser: V7StreamParser = V7StreamParser()
        self.keepalive_interval = keepalive_interval
        self.restart_after = restart_after
        self._last_keepalive = self._last_start = self.clock()
        self.starts_sent = 0

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        self._start()

    def _start(self) -> None:
        now = self.clock()
        self._last_start = self._last_keepalive = now
        # Measure the silence from here, so that a restart waits a full period.
        self._last_packet = max(self._last_packet, now)
        self.starts_sent += 1
        self.write(v7_command(V7_START))

    def data_received(self, data: bytes) -> None:
        self._last_data = self.clock()
        for packet in self.parser.feed(data):
            if packet.type == 0x01:
                self._packet(decode_v7_realtime(packet))

    def tick(self) -> None:
        now = self.clock()
        self._flush_if_quiet()
        if now - self._last_packet >= self.restart_after and now - self._last_start >= (self.restart_after):
            # The stream stops by itself (after ~30 s on some firmware) or the
            # start command was lost: ask again rather than wait for a keep-alive.
            self._start()
        elif now - self._last_keepalive >= self.keepalive_interval:
            self._last_keepalive = now
            self.write(v7_command(V7_KEEPALIVE))

    def close(self) -> None:
        self.write(v7_command(V7_STOP))
