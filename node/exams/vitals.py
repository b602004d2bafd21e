"""The vital signs a post measures: order on the form, Russian units, conversion to UCUM."""

from __future__ import annotations

from dataclasses import dataclass

from faplink.web.vitals import (
    DIASTOLIC,
    GLUCOSE,
    GLUCOSE_MASS,
    PULSE,
    RESPIRATION,
    SPO2,
    SYSTOLIC,
    TEMPERATURE,
    UNIT_LABELS,
    WEIGHT,
)
from sync.errors import N_, ValidationError
from sync.models import VITALS

# The LOINC codes live in faplink.web.vitals, shared with central.
__all__ = [
    "FORM_ORDER",
    "Vital",
    "vital",
    "to_ucum",
    "parse_number",
]


#: The order of the rows on the exam form.
FORM_ORDER = (SYSTOLIC, DIASTOLIC, PULSE, SPO2, TEMPERATURE, GLUCOSE, WEIGHT, RESPIRATION)

_GLUCOSE_MGDL_PER_MMOLL = 18.016

#: Other units a value may arrive in: (code, unit) → (stored code, factor or converter).
_CONVERSIONS = {
    (GLUCOSE, "mg/dL"): lambda v: v / _GLUCOSE_MGDL_PER_MMOLL,
    (GLUCOSE_MASS, "mg/dL"): lambda v: v / _GLUCOSE_MGDL_PER_MMOLL,
    (GLUCOSE_MASS, "mmol/L"): lambda v: v,
    (WEIGHT, "g"): lambda v: v / 1000,
    (WEIGHT, "[lb_av]"): lambda v: v * 0.45359237,
    (WEIGHT, "lb"): lambda v: v * 0.45359237,
    (TEMPERATURE, "[degF]"): lambda v: (v - 32) * 5 / 9,
}

#: Units the form offers besides the stored one.
ALTERNATIVE_UNITS: dict[str, tuple[str, ...]] = {
    GLUCOSE: ("mg/dL",),
    WEIGHT: ("g",),
    TEMPERATURE: ("[degF]",),
}

#: Decimals worth keeping for each stored value.
_DECIMALS = {GLUCOSE: 1, WEIGHT: 2, TEMPERATURE: 1}


@dataclass(frozen=True)
class Vital:
    loinc: str
    label: str  # Russian msgid
    unit: str  # UCUM, as sync.models.VITALS requires
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
        return "0.1" if self.loinc in _DECIMALS else "1"


def vital(loinc: str) -> Vital:
    label, unit, (low, high) = VITALS[loinc]
    return Vital(loinc, label, unit, low, high)


def to_ucum(loinc: str, value: float, unit: str) -> tuple[str, float, str]:
    """The code, value and unit to store (glucose in mmol/L, weight in kg, temperature in °C)."""
    code = GLUCOSE if loinc == GLUCOSE_MASS else loinc
    known = VITALS.get(code)
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
