"""A Mettler-Toledo MT-SICS scale on a pty: weights in kg, errors, units, noise."""

from __future__ import annotations

import pytest

from hardware.drivers.mtsics import SicsLineParser, SicsReply, parse_reply, parse_weight
from hardware.readings import BODY_WEIGHT, LinkState, NoReadingReason
from hardware.simulators import MtSicsSimulator
from tests.hardware.support import wait_until

FAST = {"mtsics": {"poll_interval": 0.05, "reply_timeout": 0.3}}


def test_worked_reply_is_72_45_kg_stable():
    reply = parse_reply("S S      72.45 kg")
    assert reply == SicsReply("S", "S", ("72.45", "kg"))
    weight = parse_weight(reply)
    assert (weight.kg, weight.stable) == (72.45, True)


def test_replies_are_split_on_crlf_whatever_the_padding():
    parser = SicsLineParser()
    replies = parser.feed(b'I4 A "B123"\r\nS D    1.00 kg\r\nS  S 72.45   kg\r\nES\r\n')
    assert replies == [
        SicsReply("I4", "A", ("B123",)),
        SicsReply("S", "D", ("1.00", "kg")),
        SicsReply("S", "S", ("72.45", "kg")),
        SicsReply("ES", "", ()),
    ]


def test_the_scale_on_a_pty_reports_72_45_kg_with_its_identity(simulator, reader):
    sim = simulator(MtSicsSimulator(weight=72.45))
    port_reader, log = reader(sim.path, "mtsics", options=FAST)
    (reading,) = log.wait_readings(1, BODY_WEIGHT)[:1]
    assert (reading.value, reading.unit) == (72.45, "kg")
    assert reading.device_serial == "SIM0123456"
    assert reading.device_model == "Mettler-Toledo ICS425s-Sim"
    assert log.statuses(LinkState.IDENTIFIED)
    wait_until(lambda: sim.commands.count("SI") >= 5, what="polling")
    assert len(log.readings()) == 1, "one reading per settled load, not per poll"


@pytest.mark.parametrize(("unit", "value", "kg"), [("g", 72450, 72.45), ("lb", 160, 72.575)])
def test_other_units_are_converted_to_kg(simulator, reader, unit, value, kg):
    sim = simulator(MtSicsSimulator(weight=value, unit=unit))
    port_reader, log = reader(sim.path, "mtsics", options=FAST)
    assert log.wait_readings(1)[0].value == pytest.approx(kg, abs=0.001)


def test_a_weight_in_an_unknown_unit_is_a_no_reading(simulator, reader):
    sim = simulator(MtSicsSimulator(weight=11.4, unit="st"))
    port_reader, log = reader(sim.path, "mtsics", options=FAST)
    wait_until(lambda: log.no_readings(), what="a no-reading")
    assert "st" in log.no_readings()[0].detail
    assert not log.readings()


def test_an_empty_scale_is_searching_not_zero(simulator, reader):
    sim = simulator(MtSicsSimulator(weight=0.0))
    port_reader, log = reader(sim.path, "mtsics", options=FAST)
    wait_until(lambda: log.no_readings(), what="a no-reading")
    assert log.no_readings()[0].reason is NoReadingReason.SEARCHING
    assert not log.readings()


def test_overload_underload_and_busy(simulator, reader):
    sim = simulator(MtSicsSimulator(weight=80.0))
    sim.overload = True
    port_reader, log = reader(sim.path, "mtsics", options=FAST)
    wait_until(lambda: log.no_readings(), what="overload")
    assert log.no_readings()[0].detail == "overload"
    sim.overload, sim.underload = False, True
    wait_until(lambda: len(log.no_readings()) >= 2, what="underload")
    assert log.no_readings()[1].detail == "underload"
    sim.underload, sim.busy = False, True
    wait_until(lambda: sim.commands.count("SI") >= 10, what="busy polls")
    sim.busy = False
    assert log.wait_readings(1)[0].value == 80.0
    assert len(log.no_readings()) == 2, "a busy scale is asked again, not reported"


def test_a_scale_without_si_is_weighed_with_s(simulator, reader):
    sim = simulator(MtSicsSimulator(weight=64.2, supports_si=False))
    port_reader, log = reader(sim.path, "mtsics", options=FAST)
    assert log.wait_readings(1)[0].value == 64.2
    assert "S" in sim.commands


def test_noise_on_the_line_never_becomes_a_weight(simulator, reader):
    sim = simulator(MtSicsSimulator(weight=72.45, garbage_rate=0.3, partial_rate=0.2, seed=4))
    options = {"mtsics": {"poll_interval": 0.02, "reply_timeout": 0.1}}
    port_reader, log = reader(sim.path, "mtsics", options=options)
    log.wait_readings(1)
    wait_until(lambda: sim.garbage_injected > 5 and sim.frames_cut > 2, what="faults")
    assert [r.value for r in log.readings()] == [72.45]
    assert not log.no_readings(), "noise is not a scale error"


def test_the_scale_can_be_zeroed(simulator, reader):
    sim = simulator(MtSicsSimulator(weight=0.4))
    port_reader, log = reader(sim.path, "mtsics", options=FAST)
    wait_until(lambda: port_reader.driver is not None and port_reader.driver.recognised)
    driver = port_reader.driver
    driver.zero()
    wait_until(lambda: driver.zero_result == "A", what="Z A")
    assert "Z" in sim.commands
