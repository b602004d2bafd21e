"""Random bytes into every parser: nothing escapes, and nothing impossible becomes a reading."""

from __future__ import annotations

from datetime import UTC

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hardware.drivers.astm import (
    ACK,
    ENQ,
    EOT,
    FORBIDDEN,
    NAK,
    AstmHost,
    AstmReceiver,
    encode_frames,
)
from hardware.drivers.astm_records import Delimiters, message_events, parse_message, unescape
from hardware.drivers.bm65 import (
    DIASTOLIC_RANGE,
    SYSTOLIC_RANGE,
    Bm65,
    parse_record,
)
from hardware.drivers.bm65 import PULSE_RANGE as BP_PULSE_RANGE
from hardware.drivers.cms50 import (
    Cms50Legacy,
    Cms50V7,
    GlitchFilter,
    LegacyStreamParser,
    V7StreamParser,
    encode_v7,
    sample_events,
)
from hardware.drivers.mtsics import MtSics, SicsLineParser, parse_reply
from hardware.readings import (
    BODY_WEIGHT,
    DIASTOLIC_BP,
    MEASUREMENTS,
    PULSE_RATE,
    SPO2,
    SYSTOLIC_BP,
    Reading,
)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
chunks = st.lists(st.binary(max_size=64), max_size=30)


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def assert_valid(events: list) -> None:
    """Every reading lies within its quantity's limits; SpO2 and PR also within the device's."""
    for event in events:
        if not isinstance(event, Reading):
            continue
        known = MEASUREMENTS.get(event.loinc)
        if known is not None:
            assert known.accepts(event.value), event
            assert event.unit == known.unit
        if event.loinc == SPO2:
            assert 0 <= event.value <= 100
        if event.loinc == PULSE_RATE:
            assert 20 <= event.value <= 300
        if event.loinc == BODY_WEIGHT:
            assert 0 < event.value <= 650


def drive(protocol, steps) -> None:
    """Feed chunks to a driver with time passing between them, as the reader would."""
    clock = protocol.clock
    for data, pause in steps:
        protocol.data_received(data)
        clock.now += pause
        protocol.tick()


pauses = st.sampled_from([0.0, 0.01, 0.2, 0.6, 1.1, 3.0])


def steps(shaped: st.SearchStrategy[bytes]) -> st.SearchStrategy[list[tuple[bytes, float]]]:
    """Chunks mixing noise with protocol-shaped bytes (carrying any values), and pauses."""
    return st.lists(st.tuples(st.one_of(st.binary(max_size=48), shaped), pauses), max_size=40)


# Two copies, so that the glitch filter lets the values through to be checked.
legacy_packets = st.binary(min_size=5, max_size=5).map(
    lambda p: bytes([p[0] | 0x80, *(b & 0x7F for b in p[1:])]) * 2
)
v7_packets = st.lists(st.integers(0, 255), min_size=7, max_size=7).map(lambda d: encode_v7(0x01, d) * 2)
bm65_replies = st.one_of(
    st.just(b"\x55"),
    st.just(b"BM65 Beurer GmbH  SIM0000000001 "),
    st.binary(min_size=9, max_size=9),
    st.binary(min_size=1, max_size=1),
)
astm_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=8),
)
astm_units = st.sampled_from(["mmol/L", "mg/dL", "g/dL", "%", "mg/dl", "", "U/L"])
astm_codes = st.sampled_from(["GLU", "HGB", "HBA1C", "CHOL", "XYZ", ""])
astm_sessions = st.builds(
    lambda code, value, unit, status: (
        bytes((ENQ,))
        + b"".join(
            encode_frames(
                ["H|\\^&", f"R|1|^^^{code}|{value}|{unit}||N||{status}", "L|1|N"],
                encoding="utf-8",
            )
        )
        + bytes((EOT,))
    ),
    astm_codes,
    astm_values.filter(lambda v: "\r" not in v and not any(ord(c) in FORBIDDEN for c in v)),
    astm_units,
    st.sampled_from(["F", "P", "X", "C"]),
)
sics_lines = st.builds(
    lambda status, value, unit: f"S {status} {value} {unit}\r\n".encode("ascii", "replace"),
    st.sampled_from(["S", "D", "+", "-", "I"]),
    st.one_of(st.floats().map(str), st.integers(-(10**6), 10**6).map(str)),
    st.sampled_from(["kg", "g", "lb", "oz", "st", ""]),
)


# --- CMS50 -------------------------------------------------------------------------------------


@FUZZ
@given(chunks)
def test_legacy_parser_survives_anything_and_ignores_chunking(data):
    whole = LegacyStreamParser().feed(b"".join(data))
    parser = LegacyStreamParser()
    pieces = [s for chunk in data for s in parser.feed(chunk)]
    assert pieces == whole
    for sample in whole:
        assert 0 <= sample.spo2 <= 127 and 0 <= sample.pulse_rate <= 255
        assert_valid(sample_events(sample, model="m", port="p"))


@FUZZ
@given(chunks)
def test_v7_parser_survives_anything_and_ignores_chunking(data):
    whole = V7StreamParser().feed(b"".join(data))
    parser = V7StreamParser()
    assert [p for chunk in data for p in parser.feed(chunk)] == whole


@FUZZ
@given(st.binary(max_size=40), st.lists(st.integers(0, 255), min_size=7, max_size=7))
def test_v7_packets_decode_after_any_noise(noise, values):
    packet = encode_v7(0x01, values)
    parsed = V7StreamParser().feed(noise + packet)
    assert parsed and parsed[-1].data == tuple(values)


@FUZZ
@given(steps(legacy_packets))
def test_legacy_driver_reports_only_valid_readings(data):
    events: list = []
    driver = Cms50Legacy(events.append, port="p", clock=ManualClock())
    drive(driver, data)
    assert_valid(events)


@FUZZ
@given(steps(v7_packets))
def test_v7_driver_reports_only_valid_readings(data):
    events: list = []
    driver = Cms50V7(events.append, port="p", clock=ManualClock())
    drive(driver, data)
    assert_valid(events)


@FUZZ
@given(st.lists(st.binary(min_size=5, max_size=5), max_size=40))
def test_glitch_filter_passes_a_sample_only_with_an_equal_neighbour(packets):
    samples = LegacyStreamParser().feed(
        b"".join(bytes([p[0] | 0x80, *(b & 0x7F for b in p[1:])]) for p in packets)
    )
    glitch = GlitchFilter()
    passed = [s for sample in samples for s in glitch.push(sample)] + glitch.flush()
    key = GlitchFilter._key
    for i, sample in enumerate(samples):
        agrees = any(0 <= j < len(samples) and key(samples[j]) == key(sample) for j in (i - 1, i + 1))
        assert (sample in passed) or not agrees
    assert len(passed) + glitch.rejected == len(samples)


# --- BM65 --------------------------------------------------------------------------------------


@FUZZ
@given(st.binary(min_size=9, max_size=9))
def test_a_bm65_record_is_either_in_range_or_refused(raw):
    try:
        record = parse_record(raw)
    except ValueError:
        return
    assert SYSTOLIC_RANGE[0] <= record.systolic <= SYSTOLIC_RANGE[1]
    assert DIASTOLIC_RANGE[0] <= record.diastolic < record.systolic
    assert BP_PULSE_RANGE[0] <= record.pulse <= BP_PULSE_RANGE[1]


@FUZZ
@given(steps(bm65_replies))
def test_bm65_driver_reports_only_valid_readings(data):
    events: list = []
    driver = Bm65(events.append, port="p", clock=ManualClock(), device_tz=UTC)
    driver.connection_made(_Sink())
    drive(driver, data)
    assert_valid(events)
    for event in events:
        if isinstance(event, Reading) and event.loinc == SYSTOLIC_BP:
            assert SYSTOLIC_RANGE[0] <= event.value <= SYSTOLIC_RANGE[1]
        if isinstance(event, Reading) and event.loinc == DIASTOLIC_BP:
            assert DIASTOLIC_RANGE[0] <= event.value <= DIASTOLIC_RANGE[1]


class _Sink:
    """A transport that forgets what is written: these tests are about what comes in."""

    def write(self, data: bytes) -> int:
        return len(data)


# --- ASTM --------------------------------------------------------------------------------------

record_text = st.text(
    alphabet=st.characters(
        min_codepoint=0x20,
        max_codepoint=0xFF,
        blacklist_characters="\r",
        blacklist_categories=("Cs",),
    ),
    max_size=300,
).filter(lambda t: not any(ord(c) in FORBIDDEN for c in t))


@FUZZ
@given(chunks)
def test_astm_receiver_answers_only_ack_nak_or_eot(data):
    receiver = AstmReceiver()
    for now, chunk in enumerate(data):
        out = receiver.feed(chunk, float(now))
        assert set(out.reply) <= {ACK, NAK, EOT}
        for message in out.messages:
            assert_valid(message_events(parse_message(message.records), port="p"))


@FUZZ
@given(st.lists(record_text, min_size=1, max_size=12), st.data())
def test_any_records_survive_framing_and_random_chunking(records, data):
    # A record starting with H would open a new message (that is tested elsewhere).
    records = ["H|\\^&", *(r for r in records if r and r[0] != "H"), "L|1|N"]
    stream = bytes((ENQ,)) + b"".join(encode_frames(records)) + bytes((EOT,))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    receiver = AstmReceiver()
    messages = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out = receiver.feed(stream[start:end], 0.0)
        assert NAK not in out.reply
        messages += out.messages
    assert [m.records for m in messages] == [tuple(records)]
    assert messages[0].complete


@FUZZ
@given(st.lists(st.text(max_size=80), max_size=10))
def test_astm_records_of_any_shape_never_raise(records):
    assert_valid(message_events(parse_message(records), port="p", device_tz=UTC))


@FUZZ
@given(st.text(max_size=60), st.text(min_size=5, max_size=5))
def test_unescape_never_raises(text, header):
    unescape(text, Delimiters.from_header("H" + header))


@FUZZ
@given(steps(astm_sessions))
def test_astm_host_reports_only_valid_readings(data):
    events: list = []
    host = AstmHost(events.append, port="p", clock=ManualClock())
    host.connection_made(_Sink())
    drive(host, data)
    assert_valid(events)


# --- MT-SICS -----------------------------------------------------------------------------------


@FUZZ
@given(chunks)
def test_sics_parser_survives_anything(data):
    parser = SicsLineParser()
    for chunk in data:
        parser.feed(chunk)


@FUZZ
@given(st.text(max_size=60))
def test_parse_reply_never_raises(line):
    parse_reply(line)


@FUZZ
@given(steps(sics_lines))
def test_scale_driver_reports_only_valid_weights(data):
    events: list = []
    scale = MtSics(events.append, port="p", clock=ManualClock())
    scale.connection_made(_Sink())
    drive(scale, data)
    assert_valid(events)
