"""A Beurer BM65 cuff on a pty: download of its memory, range checks, retries, a sleeping cuff."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hardware.drivers.bm65 import RECORD, BpRecord, encode_record, parse_record
from hardware.readings import DIASTOLIC_BP, PULSE_RATE, SYSTOLIC_BP, LinkState, NoReadingReason
from hardware.simulators import Bm65Simulator
from hardware.simulators.bm65 import sample_records
from tests.hardware.support import EventLog

WORKED = bytes.fromhex("00 67 37 48 03 0F 0A 1D 18")
FAST = {"bm65": {"device_tz": UTC, "reply_timeout": 0.3, "retry_interval": 0.2}}


def downloaded(log: EventLog) -> set[tuple[float, float, float, datetime]]:
    """(systolic, diastolic, pulse, time) of every record read."""
    by_index: dict[tuple[int, datetime], dict[str, float]] = {}
    for r in log.readings():
        by_index.setdefault((r.extra["index"], r.timestamp), {})[r.loinc] = r.value
    return {(v[SYSTOLIC_BP], v[DIASTOLIC_BP], v[PULSE_RATE], when) for (_, when), v in by_index.items()}


def stored(records: list[BpRecord]) -> set[tuple[float, float, float, datetime]]:
    return {(r.systolic, r.diastolic, r.pulse, r.measured_at.replace(tzinfo=UTC)) for r in records}


def test_worked_record_is_128_over_80_pulse_72_on_15_march_2024(simulator, reader):
    sim = simulator(Bm65Simulator(records=[WORKED]))
    port_reader, log = reader(sim.path, "bm65", options=FAST)
    log.wait_status(LinkState.DOWNLOAD_COMPLETE)
    values = {r.loinc: (r.value, r.unit) for r in log.readings()}
    assert values == {
        SYSTOLIC_BP: (128, "mm[Hg]"),
        DIASTOLIC_BP: (80, "mm[Hg]"),
        PULSE_RATE: (72, "/min"),
    }
    assert {r.timestamp for r in log.readings()} == {datetime(2024, 3, 15, 10, 29, tzinfo=UTC)}
    assert log.statuses(LinkState.IDENTIFIED)[0].detail.startswith("BM65")


def test_the_whole_memory_is_downloaded(simulator, reader):
    records = sample_records(8)
    sim = simulator(Bm65Simulator(records=records))
    port_reader, log = reader(sim.path, "bm65", options=FAST)
    done = log.wait_status(LinkState.DOWNLOAD_COMPLETE)
    assert done.detail == "8 stored, 8 new"
    assert downloaded(log) == stored(records)
    assert [r.extra["index"] for r in log.readings(SYSTOLIC_BP)] == list(range(1, 9))


def test_a_short_reply_is_asked_for_once_more(simulator, reader):
    records = sample_records(4)
    sim = simulator(Bm65Simulator(records=records, short_once=[2]))
    port_reader, log = reader(sim.path, "bm65", options=FAST)
    log.wait_status(LinkState.DOWNLOAD_COMPLETE)
    assert downloaded(log) == stored(records)
    assert sim.requests.count((RECORD, 2)) == 2
    assert sim.requests.count((RECORD, 3)) == 1
    assert not log.no_readings()


def test_an_out_of_range_record_is_a_no_reading_and_the_rest_still_come(simulator, reader):
    good = sample_records(2)
    broken = bytes.fromhex("00 F0 37 48 03 0F 0A 1D 18")  # systolic 265
    sim = simulator(Bm65Simulator(records=[encode_record(good[0]), broken, encode_record(good[1])]))
    port_reader, log = reader(sim.path, "bm65", options=FAST)
    log.wait_status(LinkState.DOWNLOAD_COMPLETE)
    assert downloaded(log) == stored(good)
    (absent,) = log.no_readings()
    assert absent.reason is NoReadingReason.INVALID
    assert "record 2" in absent.detail and "systolic 265" in absent.detail
    assert sim.requests.count((RECORD, 2)) == 2, "a bad record is asked for once more"


def test_a_sleeping_cuff_is_reported_then_downloaded_when_it_wakes(simulator, reader):
    sim = simulator(Bm65Simulator(records=[WORKED]))
    sim.asleep = True
    port_reader, log = reader(sim.path, "bm65", options=FAST)
    status = log.wait_status(LinkState.NOT_ANSWERING)
    assert "switch the cuff on" in status.detail
    sim.asleep = False
    log.wait_readings(3)
    assert len(log.statuses(LinkState.NOT_ANSWERING)) == 1, "said once, not per retry"


def test_line_noise_never_turns_into_a_wrong_measurement(simulator, reader):
    records = sample_records(6)
    sim = simulator(Bm65Simulator(records=records, garbage_rate=0.3, partial_rate=0.1, seed=3))
    options = {"bm65": {**FAST["bm65"], "poll_interval": 0.2}}
    port_reader, log = reader(sim.path, "bm65", options=options)
    # Records spoiled twice in a row are picked up on the next pass over the memory.
    log.wait_readings(3 * len(records))
    assert sim.garbage_injected
    assert downloaded(log) == stored(records)
    assert len(log.readings()) == 3 * len(records), "each record reported once"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("00 67 37 48 0D 0F 0A 1D 18", "no such time"),  # month 13
        ("00 67 37 48 02 1E 0A 1D 18", "no such time"),  # 30 February
        ("00 67 37 48 03 0F 18 1D 18", "no such time"),  # hour 24
        ("00 67 67 48 03 0F 0A 1D 18", "not below systolic"),
        ("00 67 37 10 03 0F 0A 1D 18", "pulse 16"),
        ("00 67 37 48 03 0F 0A 1D", "8 bytes"),
    ],
)
def test_every_field_is_range_checked(raw, problem):
    with pytest.raises(ValueError, match=problem):
        parse_record(bytes.fromhex(raw))


def test_a_record_survives_encoding_and_parsing():
    record = parse_record(WORKED)
    assert encode_record(record) == WORKED
    assert (record.systolic, record.diastolic, record.pulse) == (128, 80, 72)
