"""A CMS50 oximeter on a pty: worked examples, no-readings, detection, faults, keep-alive."""

from __future__ import annotations

import pytest

from hardware.drivers.base import LineSettings
from hardware.drivers.cms50 import V7_KEEPALIVE, V7_START, OximeterSample, encode_legacy
from hardware.ports import PortReader
from hardware.readings import PULSE_RATE, SPO2, LinkState, NoReadingReason
from hardware.simulators import Cms50LegacySimulator, Cms50V7Simulator
from tests.hardware.support import EventLog, wait_until
from tests.helpers.timing import ManualClock

LEGACY_WORKED = bytes.fromhex("C5 3A 46 07 61")
V7_WORKED = bytes.fromhex("01 E0 85 D5 9A BD E3 FF FF")
V7_PR_135 = bytes.fromhex("01 E8 85 D5 86 87 E1 FF FF")


def driver_running(port_reader: PortReader) -> None:
    wait_until(lambda: port_reader.driver is not None, what="the driver to start")


def legacy(spo2: int, pr: int, **flags: bool) -> bytes:
    return encode_legacy(OximeterSample(spo2=spo2, pulse_rate=pr, pleth=40, signal=6, **flags))


def test_legacy_worked_example_is_pr_135_spo2_97(simulator, reader):
    sim = simulator(Cms50LegacySimulator(stream=False))
    port_reader, log = reader(sim.path, "cms50-legacy")
    driver_running(port_reader)
    sim.inject(LEGACY_WORKED * 3)
    (spo2,) = log.wait_readings(1, SPO2)[:1]
    (pr,) = log.wait_readings(1, PULSE_RATE)[:1]
    assert (spo2.value, spo2.unit, pr.value, pr.unit) == (97, "%", 135, "/min")
    assert spo2.extra == {"pleth": 58, "signal": 5, "bar": 6, "beep": True}
    assert spo2.device_model == "Contec CMS50D+"
    assert spo2.port == sim.path


def test_v7_worked_example_is_pr_61_spo2_99(simulator, reader):
    sim = simulator(Cms50V7Simulator(stream=False))
    port_reader, log = reader(sim.path, "cms50-v7")
    driver_running(port_reader)
    wait_until(lambda: V7_START in sim.commands, what="the start command A1")
    sim.inject(V7_WORKED * 3)
    spo2 = log.wait_readings(1, SPO2)[0]
    pr = log.wait_readings(1, PULSE_RATE)[0]
    assert (spo2.value, pr.value) == (99, 61)
    # PI 0xFFFF means "not supported": it must not show up as a value.
    assert spo2.extra == {"pleth": 85, "signal": 5, "bar": 26}


def test_v7_pulse_above_127_uses_the_hi_byte(simulator, reader):
    sim = simulator(Cms50V7Simulator(stream=False))
    port_reader, log = reader(sim.path, "cms50-v7")
    driver_running(port_reader)
    sim.inject(V7_PR_135 * 3)
    assert log.wait_readings(1, PULSE_RATE)[0].value == 135
    assert log.wait_readings(1, SPO2)[0].value == 97


def test_xon_xoff_bytes_pass_through_as_data(simulator, reader):
    # 0x11 and 0x13 are DC1/DC3: with software flow control the tty would eat them.
    sim = simulator(Cms50LegacySimulator(stream=False))
    port_reader, log = reader(sim.path, "cms50-legacy")
    driver_running(port_reader)
    sim.inject(bytes.fromhex("C5 11 46 13 61") * 3)
    spo2 = log.wait_readings(1, SPO2)[0]
    assert spo2.extra["pleth"] == 17
    assert log.wait_readings(1, PULSE_RATE)[0].value == 128 + 19


def test_finger_out_is_reported_once_as_no_reading_then_readings_resume(simulator, reader):
    sim = simulator(Cms50LegacySimulator(stream=False))
    port_reader, log = reader(sim.path, "cms50-legacy")
    driver_running(port_reader)
    sim.inject(legacy(127, 255, finger_out=True) * 30)
    wait_until(lambda: len(log.no_readings()) >= 2, what="no-readings")
    sim.inject(legacy(98, 72) * 3)
    log.wait_readings(1, SPO2)
    absent = log.no_readings()
    assert {(a.loinc, a.reason) for a in absent} == {
        (SPO2, NoReadingReason.FINGER_OUT),
        (PULSE_RATE, NoReadingReason.FINGER_OUT),
    }
    assert len(absent) == 2, "a finger-out is told once, not per packet"
    assert all(r.value in (98, 72) for r in log.readings())


@pytest.mark.parametrize(
    ("packet", "loinc", "reason"),
    [
        (legacy(127, 72), SPO2, NoReadingReason.INVALID),
        (legacy(98, 0), PULSE_RATE, NoReadingReason.INVALID),
        (legacy(98, 255), PULSE_RATE, NoReadingReason.INVALID),
        (legacy(0, 0, searching=True), SPO2, NoReadingReason.SEARCHING),
        (legacy(0, 0, probe_error=True), PULSE_RATE, NoReadingReason.PROBE_ERROR),
    ],
)
def test_sentinel_values_are_no_readings_not_zeros(simulator, reader, packet, loinc, reason):
    sim = simulator(Cms50LegacySimulator(stream=False))
    port_reader, log = reader(sim.path, "cms50-legacy")
    driver_running(port_reader)
    sim.inject(packet * 3)
    wait_until(lambda: log.no_readings(loinc), what="a no-reading")
    assert log.no_readings(loinc)[0].reason is reason
    assert not log.readings(loinc)
    assert all(r.value != 0 for r in log.readings())


def test_a_packet_forged_by_noise_is_not_reported(simulator, reader):
    sim = simulator(Cms50LegacySimulator(stream=False))
    port_reader, log = reader(sim.path, "cms50-legacy")
    driver_running(port_reader)
    sim.inject(legacy(97, 70) * 3 + legacy(55, 200) + legacy(97, 70) * 3)
    # Five come as the packets after them confirm them; the sixth, the last packet, once the
    # line has been quiet a moment (the filter held it until then). Nothing more is to come.
    log.wait_readings(6, SPO2)
    assert [r.value for r in log.readings(SPO2)] == [97] * 6
    assert port_reader.driver is not None and port_reader.driver.filter.rejected == 1


@pytest.mark.parametrize(
    ("sim", "expected"),
    [
        (lambda: Cms50V7Simulator(), "cms50-v7"),
        (lambda: Cms50LegacySimulator(), "cms50-legacy"),
        (lambda: Cms50LegacySimulator(line=LineSettings(4800)), "cms50-legacy-4800"),
    ],
    ids=["v7-115200", "legacy-19200-8O1", "legacy-4800"],
)
def test_detection_finds_the_family_and_line_speed(simulator, reader, sim, expected):
    device = simulator(sim())
    port_reader, log = reader(device.path, "cms50", probe_seconds=0.4)
    detected = log.wait_status(LinkState.DETECTED)
    assert detected.protocol == expected
    assert log.wait_readings(4, SPO2)
    assert port_reader.driver_class is not None and port_reader.driver_class.name == expected


def assert_plausible(log: EventLog) -> None:
    """The simulator's patient stays within 95-99 % and 60-90/min; anything else is noise."""
    spo2 = [r.value for r in log.readings(SPO2)]
    pulse = [r.value for r in log.readings(PULSE_RATE)]
    assert spo2 and pulse
    assert all(95 <= v <= 99 for v in spo2), sorted(set(spo2))
    assert all(60 <= v <= 90 for v in pulse), sorted(set(pulse))
    assert all(0 <= r.extra["pleth"] <= 100 for r in log.readings(SPO2))


@pytest.mark.parametrize("family", [Cms50V7Simulator, Cms50LegacySimulator])
def test_a_clean_stream_gives_a_reading_per_packet(simulator, reader, family):
    sim = simulator(family(seed=1))
    port_reader, log = reader(sim.path, "cms50", probe_seconds=0.3)
    log.wait_readings(60, SPO2)
    assert_plausible(log)


@pytest.mark.parametrize("family", [Cms50V7Simulator, Cms50LegacySimulator])
def test_garbage_corruption_and_cut_packets_never_become_readings(simulator, reader, family):
    sim = simulator(family(garbage_rate=0.2, bad_checksum_rate=0.15, partial_rate=0.15, seed=7))
    port_reader, log = reader(sim.path, family.protocol)
    log.wait_readings(60, SPO2)
    assert sim.garbage_injected and sim.checksums_broken and sim.frames_cut
    assert_plausible(log)


def test_v7_sends_a1_again_when_the_stream_stops(simulator, reader):
    sim = simulator(Cms50V7Simulator())
    port_reader, log = reader(sim.path, "cms50-v7", options={"cms50-v7": {"restart_after": 0.3}})
    log.wait_readings(10, SPO2)
    sim.pause()
    # The driver asks again only after a silence: by then it has read every packet sent before.
    wait_until(lambda: sim.commands.count(V7_START) >= 2, what="a second A1")
    seen = len(log.readings(SPO2))
    log.wait_readings(seen + 10, SPO2)  # (one of them may be the last packet before the pause)


def test_v7_keep_alive_keeps_the_stream_going(simulator, reader):
    # The driver's clock and the oximeter's are one the test moves on, a quarter second at a
    # time once a packet has come: the stream outlives its stall time only by the keep-alives.
    clock = ManualClock()
    sim = simulator(Cms50V7Simulator(stall_after=3.0, clock=clock))
    port_reader, log = reader(
        sim.path, "cms50-v7", options={"cms50-v7": {"keepalive_interval": 1.0, "clock": clock}}
    )
    log.wait_readings(5, SPO2)
    for _ in range(24):  # six seconds: twice the stall time
        seen = len(log.readings(SPO2))
        clock.advance(0.25)
        log.wait_readings(seen + 1, SPO2)
    assert sim.commands.count(V7_KEEPALIVE) >= 5
    driver = port_reader.driver
    assert driver is not None and driver.starts_sent == 1, "the stream never stalled"
