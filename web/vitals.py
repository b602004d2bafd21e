"""How both apps show an exam's vitals and lab results: order, Russian units, the values over time.

The kiosk records exams; central shows them on the appeal page. Both read them
through these helpers, so a vital looks the same on either side.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import Flask
from flask_babel import gettext

from domain.models import CATALOGUE, LABS, Exam, Observation, Patient
from i18n import N_
from sync.clock import utcnow

from .formats import number

__all__ = [
    "SYSTOLIC",
    "DIASTOLIC",
    "PULSE",
    "SPO2",
    "TEMPERATURE",
    "GLUCOSE",
    "GLUCOSE_MASS",
    "WEIGHT",
    "RESPIRATION",
    "HBA1C",
    "CHOLESTEROL",
    "TRIGLYCERIDES",
    "CREATININE",
    "HEMOGLOBIN",
    "CHOLESTEROL_MASS",
    "TRIGLYCERIDES_MASS",
    "CREATININE_MASS",
    "HBA1C_IFCC",
    "UNIT_LABELS",
    "VITAL_ORDER",
    "LAB_ORDER",
    "number",
    "unit_label",
    "vital_label",
    "observations",
    "values_of",
    "series",
    "init_vitals",
]

# The LOINC codes of the vitals a post measures.
SYSTOLIC = "8480-6"
DIASTOLIC = "8462-4"
PULSE = "8867-4"
SPO2 = "59408-5"
TEMPERATURE = "8310-5"
GLUCOSE = "15074-8"  # mmol/L: what we store
GLUCOSE_MASS = "2339-0"  # mg/dL: what some meters send
WEIGHT = "29463-7"
RESPIRATION = "9279-1"

# The lab results a post files (domain.models.LABS), in the units Russian laboratories
# report, and the codes of the same analytes in the units some analysers send.
HBA1C = "4548-4"  # %
CHOLESTEROL = "14647-2"  # mmol/L
TRIGLYCERIDES = "14927-8"  # mmol/L
CREATININE = "14682-9"  # umol/L
HEMOGLOBIN = "718-7"  # g/L
CHOLESTEROL_MASS = "2093-3"  # mg/dL
TRIGLYCERIDES_MASS = "2571-8"  # mg/dL
CREATININE_MASS = "2160-0"  # mg/dL
HBA1C_IFCC = "59261-8"  # mmol/mol

#: The order in which observations are listed: vitals, then lab results (`domain.models.CATALOGUE`).
VITAL_ORDER: tuple[str, ...] = tuple(CATALOGUE)
LAB_ORDER: tuple[str, ...] = tuple(LABS)

UNIT_LABELS: dict[str, str] = {
    "mm[Hg]": N_("мм рт. ст."),
    "/min": N_("в мин"),
    "%": "%",
    "Cel": "°C",
    "[degF]": "°F",
    "mmol/L": N_("ммоль/л"),
    "umol/L": N_("мкмоль/л"),
    "mmol/mol": N_("ммоль/моль"),
    "mg/dL": N_("мг/дл"),
    "g/L": N_("г/л"),
    "g/dL": N_("г/дл"),
    "kg": N_("кг"),
    "g": N_("г"),
    "[lb_av]": N_("фунт"),
}


def unit_label(unit: str) -> str:
    """The user-language name of a UCUM unit."""
    return gettext(UNIT_LABELS.get(unit, unit))


def vital_label(code: str) -> str:
    """The Russian msgid of a LOINC code we measure (the code itself if unknown)."""
    known = CATALOGUE.get(code)
    return known[0] if known else code


def observations(exam: Exam) -> list[Observation]:
    """The exam's live observations in the usual order."""
    rows = list(exam.observations.where(Observation.deleted == False))  # noqa: E712
    order = {code: i for i, code in enumerate(VITAL_ORDER)}
    return sorted(rows, key=lambda o: order.get(o.loinc, 99))


def values_of(shown: Iterable[Observation]) -> dict[str, float]:
    """An exam's values by LOINC code, in the stored units (what the red flags read)."""
    return {o.loinc: o.value for o in shown}


def series(patient: Patient | str, days: int = 365) -> dict[str, list[tuple[datetime, float]]]:
    """Each vital's and lab result's values over time for the patient's chart, oldest first."""
    patient_id = patient if isinstance(patient, str) else patient.id
    since = utcnow() - timedelta(days=days)
    rows = (
        Observation.select(Observation.loinc, Observation.value, Observation.taken_at)
        .join(Exam)
        .where(
            (Exam.patient == patient_id)
            & (Exam.deleted == False)  # noqa: E712
            & (Observation.deleted == False)  # noqa: E712
            & (Observation.taken_at >= since)
        )
        .order_by(Observation.taken_at)
    )
    out: dict[str, list[tuple[datetime, float]]] = {}
    for row in rows:
        out.setdefault(row.loinc, []).append((row.taken_at, row.value))
    return {code: out[code] for code in VITAL_ORDER if code in out}


def init_vitals(app: Flask) -> None:
    """The template helpers `unit_label(unit)` and `vital_label(code)` (`num` is formats.py's)."""
    app.jinja_env.globals["unit_label"] = unit_label
    app.jinja_env.globals["vital_label"] = vital_label
