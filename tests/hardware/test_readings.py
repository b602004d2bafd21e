"""Readings carry LOINC codes and UCUM units, refuse impossible values, and serialise to JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hardware.errors import HardwareError, InvalidReading
from hardware.readings import (
    BODY_WEIGHT,
    GLUCOSE_MASS,
    GLUCOSE_MOLES,
    MEASUREMENTS,
    PULSE_RATE,
    SPO2,
    DeviceStatus,
    LinkState,
    NoReading,
    NoReadingReason,
    Reading,
    glucose_code_for_unit,
    glucose_mgdl_to_mmoll,
    glucose_mmoll_to_mgdl,
    weight_to_kg,
)

WHEN = datetime(2024, 3, 15, 10, 29, tzinfo=UTC)


def spo2(value: float) -> Reading:
    return Reading(SPO2, value, "%", "CMS50", "", "/dev/ttyUSB0", WHEN, {"pleth": 58})


def test_the_loinc_table_has_the_codes_and_units_the_kiosk_files():
    expected = {
        "59408-5": "%",
        "8867-4": "/min",
        "8480-6": "mm[Hg]",
        "8462-4": "mm[Hg]",
        "2339-0": "mg/dL",
        "15074-8": "mmol/L",
        "29463-7": "kg",
        "8310-5": "Cel",
    }
    assert {code: MEASUREMENTS[code].unit for code in expected} == expected


def test_a_reading_serialises_to_json_and_back():
    data = json.loads(json.dumps(spo2(97).as_json()))
    assert data == {
        "type": "reading",
        "loinc": SPO2,
        "label": "SpO2",
        "value": 97.0,
        "unit": "%",
        "device_model": "CMS50",
        "device_serial": "",
        "port": "/dev/ttyUSB0",
        "timestamp": "2024-03-15T10:29:00+00:00",
        "extra": {"pleth": 58},
    }
    assert datetime.fromisoformat(data["timestamp"]) == WHEN


@pytest.mark.parametrize("value", [-1, 100.5, float("nan"), float("inf")])
def test_an_impossible_spo2_is_refused(value):
    with pytest.raises(InvalidReading):
        spo2(value)


def test_invalid_reading_is_a_hardware_error_and_a_value_error():
    with pytest.raises(HardwareError):
        spo2(101)
    with pytest.raises(ValueError):
        spo2(101)


def test_a_naive_timestamp_is_refused():
    with pytest.raises(InvalidReading, match="timezone"):
        Reading(PULSE_RATE, 72, "/min", "x", "", "p", datetime(2024, 1, 1))


def test_the_unit_must_match_the_code():
    with pytest.raises(InvalidReading, match="mmol/L"):
        Reading(GLUCOSE_MOLES, 97.3, "mg/dL", "x", "", "p", WHEN)


def test_an_unmapped_analyte_keeps_its_own_code_and_unit():
    reading = Reading("", 12.5, "U/L", "x", "", "p", WHEN, {"test_code": "ALT"})
    assert reading.label == "ALT"
    assert reading.as_json()["loinc"] == ""


def test_glucose_converts_between_mass_and_moles_with_18_016():
    assert glucose_mmoll_to_mgdl(5.4) == pytest.approx(97.2864)
    assert glucose_mgdl_to_mmoll(100) == pytest.approx(5.5506, abs=1e-4)
    assert glucose_mgdl_to_mmoll(glucose_mmoll_to_mgdl(7.7)) == pytest.approx(7.7)


def test_the_glucose_code_follows_the_unit():
    assert glucose_code_for_unit("mmol/L") == GLUCOSE_MOLES
    assert glucose_code_for_unit("mmol/l") == GLUCOSE_MOLES
    assert glucose_code_for_unit("mg/dL") == GLUCOSE_MASS
    assert glucose_code_for_unit("%") is None


def test_weights_convert_to_kilograms():
    assert weight_to_kg(72450, "g") == pytest.approx(72.45)
    assert weight_to_kg(160, "lb") == pytest.approx(72.5748, abs=1e-4)
    assert weight_to_kg(72.45, "kg") == 72.45
    with pytest.raises(ValueError, match="stone"):
        weight_to_kg(11, "stone")


def test_a_body_weight_reading_is_in_kilograms():
    reading = Reading(BODY_WEIGHT, 72.45, "kg", "scale", "S1", "p", WHEN)
    assert reading.label == "Body weight"


def test_no_reading_and_status_serialise_with_their_reason():
    absent = NoReading(NoReadingReason.FINGER_OUT, "CMS50", "p", WHEN, SPO2)
    assert json.loads(json.dumps(absent.as_json()))["reason"] == "finger_out"
    status = DeviceStatus("p", LinkState.DISCONNECTED, "cms50-v7", "unplugged", WHEN)
    assert json.loads(json.dumps(status.as_json()))["state"] == "disconnected"
