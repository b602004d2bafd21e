"""ASTM E1381/E1394: checksums, the receiver's rules, records, and sessions over a pty."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hardware.drivers.astm import (
    ACK,
    ENQ,
    EOT,
    NAK,
    AstmHost,
    AstmReceiver,
    ReceiverOutput,
    checksum,
    encode_frame,
    encode_frames,
)
from hardware.drivers.astm_records import (
    Delimiters,
    message_events,
    parse_message,
    unescape,
)
from hardware.readings import GLUCOSE_MASS, GLUCOSE_MOLES, LinkState, NoReading, Reading
from hardware.simulators import AstmSimulator
from hardware.simulators.astm import MAX_ATTEMPTS, WORKED_SESSION, glucose_message
from tests.hardware.support import wait_until

FAST = {"astm": {"device_tz": UTC}}


def fast_sim(**options) -> AstmSimulator:
    options.setdefault("reply_timeout", 0.5)
    options.setdefault("retry_wait", 0.05)
    options.setdefault("busy_wait", 0.1)
    return AstmSimulator(**options)


# --- checksums -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"1A|B|C|D\r\x03", b"BF"),  # python-astm test_codecs
        (b"1foo|1\r\x03", b"32"),  # python-astm test vectors
        (b"0H\r\x03", b"88"),
        (b"\x02", b"02"),  # python-astm ChecksummTestCase.test_short
        (b"7L|1|N\r\x03", b"0A"),  # a forum gives "40"; the sum says 0A
    ],
)
def test_checksum_matches_the_library_vectors(body, expected):
    assert checksum(body) == expected


def test_the_worked_session_encodes_to_the_reference_frames():
    frames = encode_frames(WORKED_SESSION)
    assert [f[-4:-2] for f in frames] == [b"25", b"E6", b"CE", b"84", b"08"]
    assert frames[0] == (b"\x021H|\\^&|||GlucoKiosk^1.0^SN1234|||||||P|LIS2-A2|20240315103000\r\x0325\r\n")
    assert frames[4] == b"\x025L|1|N\r\x0308\r\n"


def test_frame_numbers_wrap_from_7_to_0_and_long_records_continue_with_etb():
    records = ["H|\\^&", *[f"R|{i}|^^^X{i}|1|U" for i in range(1, 9)], "C|1|L|" + "x" * 300]
    frames = encode_frames(records)
    assert [f[1] - 0x30 for f in frames] == [1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3]
    assert frames[-2][-5] == 0x17 and frames[-1][-5] == 0x03  # ETB, then ETX
    assert all(len(f) <= 247 for f in frames)
    assert len(frames[-2]) == 247


# --- the receiver, byte by byte --------------------------------------------------------------


def session(receiver: AstmReceiver, *chunks: bytes) -> list[ReceiverOutput]:
    return [receiver.feed(chunk, 0.0) for chunk in chunks]


def test_receiver_acknowledges_the_worked_session_and_returns_its_records():
    receiver = AstmReceiver()
    outs = session(receiver, bytes((ENQ,)), *encode_frames(WORKED_SESSION), bytes((EOT,)))
    assert [bytes(o.reply) for o in outs] == [b"\x06"] * 6 + [b""]
    (message,) = outs[-1].messages
    assert message.complete and message.records == WORKED_SESSION


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (encode_frame(1, b"H|\\^&\r", last=True)[:-4] + b"00\r\n", "bad checksum"),
        (encode_frame(2, b"H|\\^&\r", last=True), "wrong frame number"),
        (encode_frame(1, b"H|\\^\x10&\r", last=True), "DLE in text"),
        (encode_frame(1, b"H|\\^\x13&\r", last=True), "DC3 in text"),
        (encode_frame(1, b"H" + b"x" * 241 + b"\r", last=True), "longer than 247 bytes"),
        (b"\x021H|\\^&\r25\r\n", "no ETX"),
    ],
)
def test_receiver_naks_a_bad_frame(frame, why):
    receiver = AstmReceiver()
    outs = session(receiver, bytes((ENQ,)), frame)
    assert bytes(outs[1].reply) == bytes((NAK,)), why
    assert receiver.frames_accepted == 0


def test_a_repeated_frame_is_acknowledged_and_discarded():
    receiver = AstmReceiver()
    frames = encode_frames(WORKED_SESSION)
    outs = session(receiver, bytes((ENQ,)), frames[0], frames[1], frames[1], *frames[2:], b"\x04")
    assert bytes(outs[3].reply) == bytes((ACK,))
    assert receiver.duplicates == 1
    assert outs[-1].messages[0].records == WORKED_SESSION


def test_bytes_outside_frames_are_ignored_and_a_new_header_restarts_the_message():
    receiver = AstmReceiver()
    other = ["H|\\^&|||Old", "P|1||OLD"]
    frames = encode_frames([*other, *WORKED_SESSION])
    noisy = [b"\xff\x00zz" + f for f in frames]
    outs = session(receiver, b"junk" + bytes((ENQ,)), *noisy, bytes((EOT,)))
    assert outs[-1].messages[0].records == WORKED_SESSION


def test_eot_without_l_record_marks_the_message_incomplete():
    receiver = AstmReceiver()
    outs = session(receiver, bytes((ENQ,)), *encode_frames(WORKED_SESSION[:4]), bytes((EOT,)))
    (message,) = outs[-1].messages
    assert not message.complete


def test_the_host_discards_an_incomplete_message():
    events: list = []
    host = AstmHost(events.append, port="p", device_tz=UTC)
    host.data_received(bytes((ENQ,)) + b"".join(encode_frames(WORKED_SESSION[:4])) + b"\x04")
    assert not [e for e in events if isinstance(e, Reading)]
    assert [e.state for e in events] == [LinkState.ERROR]


def test_a_partial_message_is_dropped_after_the_receive_timeout():
    receiver = AstmReceiver(receive_timeout=30)
    receiver.feed(bytes((ENQ,)) + encode_frames(WORKED_SESSION)[0], 0.0)
    receiver.expire(31.0)
    out = receiver.feed(b"".join(encode_frames(WORKED_SESSION)[1:]) + b"\x04", 32.0)
    assert out.messages == [] and out.reply == b"", "no link: frames are ignored"


# --- records ---------------------------------------------------------------------------------


def test_the_worked_session_is_glucose_5_4_mmol_per_litre():
    (reading,) = message_events(parse_message(WORKED_SESSION), port="p", device_tz=UTC)
    assert isinstance(reading, Reading)
    assert (reading.loinc, reading.value, reading.unit) == (GLUCOSE_MOLES, 5.4, "mmol/L")
    assert reading.timestamp == datetime(2024, 3, 15, 10, 29, 30, tzinfo=UTC)
    assert (reading.device_model, reading.device_serial) == ("GlucoKiosk", "SN1234")
    assert reading.extra == {
        "test_code": "GLU",
        "flag": "N",
        "reference_range": "3.9-5.5",
        "status": "F",
        "patient_id": "PAT001",
        "specimen_id": "S001",
        "instrument": "GM01",
    }


def test_delimiters_are_read_from_the_header_not_assumed():
    records = [
        "H!~#$!!!Meter#2#SN9",
        "R!1!###GLU!97!mg/dL!70-99!N!!F!!!!20240315102930",
        "L!1!N",
    ]
    assert Delimiters.from_header(records[0]) == Delimiters("!", "~", "#", "$")
    msg = parse_message(records)
    assert (msg.model, msg.serial) == ("Meter", "SN9")
    (reading,) = message_events(msg, port="p", device_tz=UTC)
    assert isinstance(reading, Reading)
    assert (reading.loinc, reading.value, reading.unit) == (GLUCOSE_MASS, 97, "mg/dL")


def test_escape_sequences_are_undone():
    d = Delimiters()
    assert unescape("a&F&b&S&c&R&d&E&e", d) == "a|b^c\\d&e"
    assert unescape("&X41&&H&bold", d) == "A&H&bold"
    msg = parse_message([WORKED_SESSION[0], "R|1|^^^GLU|5.4|mmol/L|3&S&9-5&S&5|N||F"])
    assert msg.results[0].reference_range == "3^9-5^5"


def test_unknown_analytes_are_reported_with_their_own_code():
    records = [*WORKED_SESSION[:3], "R|1|^^^ALT|31|U/L|0-40|N||F", "L|1|N"]
    (reading,) = message_events(parse_message(records), port="p", device_tz=UTC)
    assert isinstance(reading, Reading)
    assert (reading.loinc, reading.value, reading.unit) == ("", 31, "U/L")
    assert reading.extra["test_code"] == "ALT"


@pytest.mark.parametrize(
    ("result", "detail"),
    [
        ("R|1|^^^GLU|>33.3|mmol/L||H||F", "not a number"),
        ("R|1|^^^GLU|HI|mmol/L||H||F", "not a number"),
        ("R|1|^^^GLU||||||X", "could not be performed"),
        ("R|1|^^^GLU|250|mmol/L||H||F", "outside"),
    ],
)
def test_values_that_are_not_measurements_become_no_readings(result, detail):
    records = [WORKED_SESSION[0], result, "L|1|N"]
    (event,) = message_events(parse_message(records), port="p", device_tz=UTC)
    assert isinstance(event, NoReading) and detail in event.detail


def test_glucose_in_an_unknown_unit_is_not_filed_as_glucose():
    records = [WORKED_SESSION[0], "R|1|^^^GLU|5.4|mmol/kg||N||F", "L|1|N"]
    (reading,) = message_events(parse_message(records), port="p", device_tz=UTC)
    assert isinstance(reading, Reading) and reading.loinc == ""
    assert reading.extra["unmapped_unit"] is True


# --- sessions over a pty ---------------------------------------------------------------------


def test_the_worked_session_over_a_pty_gives_glucose_5_4(simulator, reader):
    sim = simulator(fast_sim(messages=[WORKED_SESSION]))
    port_reader, log = reader(sim.path, "astm", options=FAST)
    (reading,) = log.wait_readings(1)
    assert (reading.loinc, reading.value, reading.unit) == (GLUCOSE_MOLES, 5.4, "mmol/L")
    assert reading.timestamp == datetime(2024, 3, 15, 10, 29, 30, tzinfo=UTC)
    wait_until(lambda: sim.delivered == [list(WORKED_SESSION)], what="delivery")
    assert sim.naks_received == 0 and sim.frames_sent == 5


def test_bad_checksums_are_nakked_and_retransmitted(simulator, reader):
    values = (5.1, 6.2, 7.3)
    messages = [glucose_message(v, datetime(2024, 3, 15, 10, i)) for i, v in enumerate(values)]
    sim = simulator(fast_sim(messages=messages, bad_checksum_rate=0.5, seed=11))
    port_reader, log = reader(sim.path, "astm", options=FAST)
    log.wait_readings(3)
    wait_until(lambda: len(sim.delivered) == 3, what="all messages delivered")
    assert sim.naks_received >= 1
    driver = port_reader.driver
    assert driver is not None and driver.receiver.naks_sent == sim.naks_received
    assert [r.value for r in log.readings()] == list(values)


def test_six_failed_attempts_end_with_eot_and_the_message_comes_later(simulator, reader):
    sim = simulator(fast_sim(messages=[WORKED_SESSION], bad_checksum_rate=1.0))
    port_reader, log = reader(sim.path, "astm", options=FAST)
    wait_until(lambda: MAX_ATTEMPTS in sim.give_ups, what="the sender to give up after NAKs")
    assert max(sim.give_ups) == MAX_ATTEMPTS == 6
    assert not log.readings()
    sim.bad_checksum_rate = 0.0
    (reading,) = log.wait_readings(1)
    assert reading.value == 5.4


def test_more_than_eight_frames_wrap_the_frame_number(simulator, reader):
    results = [f"R|{i}|^^^T{i}|{i}.5|U/L||N||F" for i in range(1, 12)]
    long_comment = "C|1|I|" + "note " * 80 + "|G"
    records = [*WORKED_SESSION[:3], *results, long_comment, "L|1|N"]
    sim = simulator(fast_sim(messages=[records]))
    port_reader, log = reader(sim.path, "astm", options=FAST)
    log.wait_readings(11)
    assert sim.frames_sent >= len(encode_frames(records)) > 8
    assert [r.extra["test_code"] for r in log.readings()] == [f"T{i}" for i in range(1, 12)]


def test_a_lost_ack_makes_a_repeated_frame_that_is_not_counted_twice(simulator, reader):
    sim = simulator(fast_sim(messages=[WORKED_SESSION] * 3, lost_ack_rate=0.5, seed=5))
    port_reader, log = reader(sim.path, "astm", options=FAST)
    log.wait_readings(3)
    wait_until(lambda: len(sim.delivered) == 3, what="all messages")
    driver = port_reader.driver
    assert driver is not None and driver.receiver.duplicates >= 1
    assert len(log.readings()) == 3


def test_garbage_and_cut_frames_delay_but_never_corrupt_results(simulator, reader):
    values = (4.4, 5.5, 6.6, 7.7, 8.8, 9.9)
    messages = [glucose_message(v, datetime(2024, 3, 15, 11, i)) for i, v in enumerate(values)]
    sim = simulator(
        fast_sim(messages=messages, garbage_rate=0.3, partial_rate=0.3, reply_timeout=0.15, seed=2)
    )
    port_reader, log = reader(sim.path, "astm", options=FAST)
    wait_until(lambda: len(sim.delivered) == len(values), what="all delivered")
    log.wait_readings(len(values))
    assert sim.garbage_injected and sim.frames_cut
    assert [r.value for r in log.readings()] == list(values)


def test_an_idle_instrument_is_found_by_probing_with_enq(simulator, reader):
    sim = simulator(fast_sim(messages=[], interval=0))
    port_reader, log = reader(sim.path, "auto", probe_seconds=0.3)
    assert log.wait_status(LinkState.DETECTED).protocol == "astm"
    sim.add_message(WORKED_SESSION)
    assert log.wait_readings(1)[0].value == 5.4
