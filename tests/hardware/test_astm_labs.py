"""A chemistry analyser over ASTM: HbA1c, cholesterol, creatinine get the LOINC code their unit means."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hardware.drivers.astm_records import message_events, parse_message
from hardware.readings import (
    CHOLESTEROL_MASS,
    CHOLESTEROL_MOLES,
    CREATININE_MASS,
    CREATININE_MOLES,
    GLUCOSE_MOLES,
    HBA1C,
    HBA1C_IFCC,
    HEMOGLOBIN,
    TRIGLYCERIDES_MOLES,
    Reading,
    fold_unit,
)
from hardware.simulators import AstmSimulator
from hardware.simulators.astm import analyser_message
from tests.hardware.support import wait_until

WHEN = datetime(2026, 12, 7, 8, 15)
#: What a Russian laboratory's analyser sends for one serum and one whole-blood specimen.
RUSSIAN_PANEL = [
    ("HBA1C", 6.8, "%"),
    ("CHOL", 5.2, "mmol/L"),
    ("CREA", 88, "µmol/L"),  # µ is in latin-1, the line's encoding
    ("TRIG", 1.4, "mmol/L"),
    ("GLU", 6.1, "mmol/L"),
]


def events(results):  # type: ignore[no-untyped-def]
    return message_events(parse_message(analyser_message(results, WHEN)), port="p", device_tz=UTC)


@pytest.mark.parametrize(
    ("code", "value", "unit", "loinc", "ucum"),
    [
        ("CHOL", 5.2, "mmol/L", CHOLESTEROL_MOLES, "mmol/L"),
        ("CHOL", 201, "mg/dL", CHOLESTEROL_MASS, "mg/dL"),
        ("TC", 5.2, "mmol/l", CHOLESTEROL_MOLES, "mmol/L"),
        ("CREA", 88, "µmol/L", CREATININE_MOLES, "umol/L"),
        ("CREA", 88, "umol/L", CREATININE_MOLES, "umol/L"),
        ("CRE", 88, "mcmol/l", CREATININE_MOLES, "umol/L"),
        ("CREA", 1.0, "mg/dL", CREATININE_MASS, "mg/dL"),
        ("HBA1C", 6.8, "%", HBA1C, "%"),
        ("A1C", 51, "mmol/mol", HBA1C_IFCC, "mmol/mol"),
        ("TRIG", 1.4, "mmol/L", TRIGLYCERIDES_MOLES, "mmol/L"),
        ("HGB", 13.5, "g/dL", HEMOGLOBIN, "g/dL"),
    ],
)
def test_the_unit_picks_the_mass_or_the_molar_loinc_code(code, value, unit, loinc, ucum) -> None:  # type: ignore[no-untyped-def]
    (reading,) = events([(code, value, unit)])
    assert isinstance(reading, Reading), reading
    assert (reading.loinc, reading.value, reading.unit) == (loinc, value, ucum)


def test_cholesterol_in_a_unit_of_no_code_is_left_unmapped_not_misfiled() -> None:
    (reading,) = events([("CHOL", 5.2, "mmol/kg")])
    assert isinstance(reading, Reading) and reading.loinc == ""
    assert reading.extra["unmapped_unit"] is True


def test_micro_is_written_many_ways() -> None:
    assert {fold_unit(u) for u in ("µmol/L", "μmol/l", "umol/L", "mcmol/l", "mkmol/L")} == {"umol/l"}


def test_an_analysers_panel_over_a_pty_gives_a_reading_per_analyte(simulator, reader) -> None:  # type: ignore[no-untyped-def]
    sim = simulator(AstmSimulator(messages=[analyser_message(RUSSIAN_PANEL, WHEN)], reply_timeout=0.5))
    port_reader, log = reader(sim.path, "astm", options={"astm": {"device_tz": UTC}})
    readings = log.wait_readings(len(RUSSIAN_PANEL))
    got = {r.loinc: (r.value, r.unit) for r in readings}
    assert got == {
        HBA1C: (6.8, "%"),
        CHOLESTEROL_MOLES: (5.2, "mmol/L"),
        CREATININE_MOLES: (88, "umol/L"),
        TRIGLYCERIDES_MOLES: (1.4, "mmol/L"),
        GLUCOSE_MOLES: (6.1, "mmol/L"),
    }
    assert {r.device_model for r in readings} == {"LabKiosk"}
    assert all(r.timestamp == WHEN.replace(tzinfo=UTC) for r in readings)
    wait_until(lambda: len(sim.delivered) == 1, what="the message acknowledged")
