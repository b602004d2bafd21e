"""Red-flag vital values that suggest raising the form of care to «неотложная» or «экстренная».

The kiosk warns the feldsher while booking; central shows the same flags to the consultant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask_babel import gettext

from sync.errors import N_
from sync.models import FormOfCare

from .vitals import GLUCOSE, PULSE, SPO2, SYSTOLIC, TEMPERATURE

__all__ = ["RedFlag", "RULES", "red_flags", "suggested_form"]


@dataclass(frozen=True)
class Rule:
    loinc: str
    applies: Callable[[float], bool]
    message: str  # Russian msgid with %(value)s
    form: str


#: The thresholds, one line each, as the clinical lead gave them.
RULES: tuple[Rule, ...] = (
    Rule(SPO2, lambda v: v < 90, N_("SpO2 %(value)s %% — ниже 90 %%"), FormOfCare.EMERGENCY),
    Rule(
        SYSTOLIC,
        lambda v: v >= 180,
        N_("Систолическое АД %(value)s мм рт. ст. — 180 и выше"),
        FormOfCare.URGENT,
    ),
    Rule(
        SYSTOLIC,
        lambda v: v < 90,
        N_("Систолическое АД %(value)s мм рт. ст. — ниже 90"),
        FormOfCare.EMERGENCY,
    ),
    Rule(PULSE, lambda v: v > 120, N_("Пульс %(value)s в мин — чаще 120"), FormOfCare.URGENT),
    Rule(PULSE, lambda v: v < 45, N_("Пульс %(value)s в мин — реже 45"), FormOfCare.URGENT),
    Rule(TEMPERATURE, lambda v: v >= 39, N_("Температура тела %(value)s °C — 39 и выше"), FormOfCare.URGENT),
    Rule(GLUCOSE, lambda v: v < 3, N_("Глюкоза крови %(value)s ммоль/л — ниже 3"), FormOfCare.EMERGENCY),
    Rule(GLUCOSE, lambda v: v > 20, N_("Глюкоза крови %(value)s ммоль/л — выше 20"), FormOfCare.URGENT),
)


@dataclass(frozen=True)
class RedFlag:
    loinc: str
    value: float
    message: str
    form: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return gettext(self.message, **self.params)


def _shown(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def red_flags(values: Mapping[str, float]) -> list[RedFlag]:
    """The rules that these values (by LOINC code, in the stored units) break."""
    out = []
    for rule in RULES:
        value = values.get(rule.loinc)
        if value is not None and rule.applies(float(value)):
            out.append(RedFlag(rule.loinc, float(value), rule.message, rule.form, {"value": _shown(value)}))
    return out


def suggested_form(flags: list[RedFlag]) -> str | None:
    """«экстренная» if any flag asks for it, else «неотложная» if any flag at all."""
    if not flags:
        return None
    if any(f.form == FormOfCare.EMERGENCY for f in flags):
        return FormOfCare.EMERGENCY
    return FormOfCare.URGENT
