"""The vital signs and lab results a post files: order on the form, Russian units, conversion to UCUM."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import ValidationError
from domain.models import CATALOGUE
from i18n import N_
from web.vitals import (
    CHOLESTEROL,
    CHOLESTEROL_MASS,
    CREATININE,
    CREATININE_MASS,
    DIASTOLIC,
    GLUCOSE,
    GLUCOSE_MASS,
    HBA1C,
    HBA1C_IFCC,
    HEMOGLOBIN,
    LAB_ORDER,
    PULSE,
    RESPIRATION,
    SPO2,
    SYSTOLIC,
    TEMPERATURE,
    TRIGLYCERIDES,
    TRIGLYCERIDES_MASS,
    UNIT_LABELS,
    WEIGHT,
)

# The LOINC codes live in web.vitals, shared with central.
__all__ = [
    "FORM_ORDER",
    "LAB_ORDER",
    "Vital",
    "vital",
    "to_ucum",
    "parse_number",
]


#: The order of the rows on the exam form.
FORM_ORDER = (SYSTOLIC, DIASTOLIC, PULSE, SPO2, TEMPERATURE, GLUCOSE, WEIGHT, RESPIRATION)

_GLUCOSE_MGDL_PER_MMOLL = 18.016
# mg/dL in 1 mmol/L (µmol/L for creatinine): molar masses of cholesterol (386.65 g/mol),
# triolein, by which laboratories count triglycerides (885.7 g/mol), creatinine (113.12 g/mol).
_CHOLESTEROL_MGDL_PER_MMOLL = 38.67
_TRIGLYCERIDES_MGDL_PER_MMOLL = 88.57
_CREATININE_UMOLL_PER_MGDL = 88.42

#: Codes of the same analyte in another property (mass for moles, IFCC for NGSP): stored as the first.
_SAME_ANALYTE = {
    GLUCOSE_MASS: GLUCOSE,
    CHOLESTEROL_MASS: CHOLESTEROL,
    TRIGLYCERIDES_MASS: TRIGLYCERIDES,
    CREATININE_MASS: CREATININE,
    HBA1C_IFCC: HBA1C,
}

#: Other units a value may arrive in: (code, unit) → (stored code, factor or converter).
_CONVERSIONS = {
    (GLUCOSE, "mg/dL"): lambda v: v / _GLUCOSE_MGDL_PER_MMOLL,
    (GLUCOSE_MASS, "mg/dL"): lambda v: v / _GLUCOSE_MGDL_PER_MMOLL,
    (GLUCOSE_MASS, "mmol/L"): lambda v: v,
    (WEIGHT, "g"): lambda v: v / 1000,
    (WEIGHT, "[lb_av]"): lambda v: v * 0.45359237,
    (WEIGHT, "lb"): lambda v: v * 0.45359237,
    (TEMPERATURE, "[degF]"): lambda v: (v - 32) * 5 / 9,
    (CHOLESTEROL, "mg/dL"): lambda v: v / _CHOLESTEROL_MGDL_PER_MMOLL,
    (CHOLESTEROL_MASS, "mg/dL"): lambda v: v / _CHOLESTEROL_MGDL_PER_MMOLL,
    (TRIGLYCERIDES, "mg/dL"): lambda v: v / _TRIGLYCERIDES_MGDL_PER_MMOLL,
    (TRIGLYCERIDES_MASS, "mg/dL"): lambda v: v / _TRIGLYCERIDES_MGDL_PER_MMOLL,
    (CREATININE, "mg/dL"): lambda v: v * _CREATININE_UMOLL_PER_MGDL,
    (CREATININE_MASS, "mg/dL"): lambda v: v * _CREATININE_UMOLL_PER_MGDL,
    # The IFCC-NGSP master equation (Hoelzel et al., Clin Chem 2004).
    (HBA1C, "mmol/mol"): lambda v: 0.09148 * v + 2.152,
    (HBA1C_IFCC, "mmol/mol"): lambda v: 0.09148 * v + 2.152,
    (HEMOGLOBIN, "g/dL"): lambda v: v * 10,
}

#: Units the form offers besides the stored one.
ALTERNATIVE_UNITS: dict[str, tuple[str, ...]] = {
    GLUCOSE: ("mg/dL",),
    WEIGHT: ("g",),
    TEMPERATURE: ("[degF]",),
    HBA1C: ("mmol/mol",),
    CHOLESTEROL: ("mg/dL",),
    TRIGLYCERIDES: ("mg/dL",),
    CREATININE: ("mg/dL",),
    HEMOGLOBIN: ("g/dL",),
}

#: Decimals worth keeping for each stored value (1 when not listed).
_DECIMALS = {
    GLUCOSE: 1,
    WEIGHT: 2,
    TEMPERATURE: 1,
    HBA1C: 1,
    CHOLESTEROL: 2,
    TRIGLYCERIDES: 2,
    CREATININE: 0,
    HEMOGLOBIN: 0,
}


@dataclass(frozen=True)
class Vital:
    loinc: str
    label: str  # Russian msgid
    unit: str  # UCUM, as domain.models.CATALOGUE requires
    low: float
    high: float

    @property
    def unit_label(self) -> str:
        return UNIT_LABELS.get(self.unit, self.unit)

    @property
    def units(self) -> tuple[str, ...]:
        return (self.unit, *ALTERNATIVE_UNITS.get(self.loinc, ()))

    @property
    def step(self) -> str:
        return "0.1" if _DECIMALS.get(self.loinc) else "1"


def vital(loinc: str) -> Vital:
    label, unit, (low, high) = CATALOGUE[loinc]
    return Vital(loinc, label, unit, low, high)


def to_ucum(loinc: str, value: float, unit: str) -> tuple[str, float, str]:
    """The code, value and unit to store (glucose in mmol/L, weight in kg, temperature in °C,
    cholesterol in mmol/L, creatinine in µmol/L, HbA1c in %)."""
    code = _SAME_ANALYTE.get(loinc, loinc)
    known = CATALOGUE.get(code)
    if known is None:
        raise ValidationError(N_("Неизвестный показатель: %(code)s"), field="loinc", code=loinc)
    target = known[1]
    if unit != target:
        convert = _CONVERSIONS.get((loinc, unit))
        if convert is None:
            raise ValidationError(
                N_("%(what)s измеряется в %(unit)s"), field="unit", what=known[0], unit=UNIT_LABELS[target]
            )
        value = convert(value)
    return code, round(float(value), _DECIMALS.get(code, 1)), target


def parse_number(text: str, what: str, field: str) -> float | None:
    """A number typed by hand (comma or point), None if left empty; a clear refusal otherwise."""
    cleaned = (text or "").strip().replace(",", ".").replace(" ", "")
    if not cleaned:
        return None
    try:
        value = float(cleaned)
    except ValueError:
        raise ValidationError(
            N_("%(what)s: «%(text)s» — не число"), field=field, what=what, text=text.strip()
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValidationError(N_("%(what)s: «%(text)s» — не число"), field=field, what=what, text=text)
    return value
