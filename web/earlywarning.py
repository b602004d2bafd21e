"""Early warning from an exam's vitals: NEWS2 for adults, age ranges for children, the form of care proposed.

One place for the rules, each with its source. The kiosk shows the result on the
exam and while booking, booking stores the proposed form of care on the appeal,
and central shows the same result on the appeal page.

- Adults (16 and over) get the National Early Warning Score 2 (Royal College of
  Physicians, *National Early Warning Score (NEWS) 2*, London: RCP, 2017), chart 1
  with SpO2 scale 1, and the proposal of its chart 3 clinical response: aggregate
  5–6 or 3 in any single parameter → неотложная, 7 or more → экстренная.
- Children (under 16, for whom NEWS2 is not validated) get heart and respiratory
  rate against the 1st–99th centiles of Fleming et al., Lancet 2011, and systolic
  pressure against the PALS hypotension limits; see `_child_flags`.
- A few further rules for every age (glucose) or for adults (severe hypertension).

A missing value never counts as normal: the result names what was not measured,
and a NEWS2 without all seven parameters is shown as a partial score. Its proposal
still stands, because the missing parameters can only add points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext, lazy_gettext

from domain.models import Consciousness, Exam, FormOfCare
from i18n import N_

from .labels import LABELS
from .vitals import (
    DIASTOLIC,
    GLUCOSE,
    PULSE,
    RESPIRATION,
    SPO2,
    SYSTOLIC,
    TEMPERATURE,
    number,
    observations,
    values_of,
    vital_label,
)

__all__ = [
    "ADULT_FROM",
    "RedFlag",
    "News2Part",
    "News2",
    "EarlyWarning",
    "assess",
    "for_exam",
    "more_urgent",
    "age_in_months",
]

#: NEWS2 is for adults aged 16 and over: the RCP's report does not recommend it for
#: children under 16, for whom it is not validated (nor in pregnancy, which the exam
#: does not record).
ADULT_FROM = 16


def more_urgent(a: str | None, b: str | None) -> str | None:
    """The more urgent of two forms of care (None: no proposal)."""
    if a is None or b is None:
        return a or b
    return b if FormOfCare.less_urgent(a, b) else a


@dataclass(frozen=True)
class RedFlag:
    """A value that asks for a more urgent form of care; `text` is in the user's language."""

    loinc: str  # "" for consciousness
    value: float | None
    message: str  # Russian msgid
    form: str
    params: dict[str, object] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return gettext(self.message, **self.params)


# -- NEWS2 (RCP 2017, chart 1) -----------------------------------------------------

#: Each parameter's bands as (highest value in the band, points), lowest band first.
_RESPIRATION_BANDS = ((8, 3), (11, 1), (20, 0), (24, 2), (math.inf, 3))
_SPO2_SCALE_1_BANDS = ((91, 3), (93, 2), (95, 1), (math.inf, 0))
_SYSTOLIC_BANDS = ((90, 3), (100, 2), (110, 1), (219, 0), (math.inf, 3))
_PULSE_BANDS = ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2), (math.inf, 3))
_TEMPERATURE_BANDS = ((35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1), (math.inf, 2))
_OXYGEN_POINTS = 2  # supplemental oxygen; air 0
_NOT_ALERT_POINTS = 3  # new confusion, voice, pain or unresponsive; alert 0

_MEASURED = (
    (RESPIRATION, _RESPIRATION_BANDS),
    (SPO2, _SPO2_SCALE_1_BANDS),
    (SYSTOLIC, _SYSTOLIC_BANDS),
    (PULSE, _PULSE_BANDS),
    (TEMPERATURE, _TEMPERATURE_BANDS),
)
_UNITS = {
    RESPIRATION: N_("в мин"),
    SPO2: "%",
    SYSTOLIC: N_("мм рт. ст."),
    PULSE: N_("в мин"),
    TEMPERATURE: "°C",
}
OXYGEN_LABEL = N_("Кислород")
CONSCIOUSNESS_LABEL = N_("Сознание")


def _band_points(value: float, bands: tuple[tuple[float, int], ...]) -> int:
    for highest, points in bands:
        if value <= highest:
            return points
    raise AssertionError("the last band is open")


@dataclass(frozen=True)
class News2Part:
    """One NEWS2 parameter: its label, what was recorded and its points (None: not recorded)."""

    key: str  # a LOINC code, "oxygen" or "consciousness"
    label: str  # Russian msgid
    points: int | None
    value: float | None = None
    code: str = ""  # ACVPU letter

    @property
    def shown(self) -> str:
        """What was recorded, in the user's language ("—" when nothing was)."""
        if self.points is None:
            return "—"
        if self.key == "oxygen":
            return gettext("на кислороде") if self.points else gettext("дышит воздухом")
        if self.key == "consciousness":
            return gettext(LABELS["consciousness"][self.code])
        return f"{number(self.value or 0)} {gettext(_UNITS[self.key])}"


@dataclass(frozen=True)
class News2:
    """The aggregate score with its parts; partial when a parameter was not recorded."""

    parts: tuple[News2Part, ...]

    @property
    def score(self) -> int:
        return sum(p.points or 0 for p in self.parts)

    @property
    def missing(self) -> list[str]:
        """Msgids of the parameters not recorded."""
        return [p.label for p in self.parts if p.points is None]

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def single_three(self) -> bool:
        return any(p.points == 3 for p in self.parts)

    @property
    def proposed(self) -> str | None:
        """RCP 2017 chart 3: 7+ emergency response, 5–6 or a single 3 urgent response."""
        if self.score >= 7:
            return FormOfCare.EMERGENCY
        if self.score >= 5 or self.single_three:
            return FormOfCare.URGENT
        return None

    @property
    def risk(self) -> str:
        """The clinical risk of RCP 2017 chart 3, as a Russian msgid."""
        if self.score >= 7:
            return N_("высокий риск")
        if self.score >= 5:
            return N_("средний риск")
        if self.single_three:
            return N_("низкий–средний риск")
        return N_("низкий риск")


def news2(values: Mapping[str, float], consciousness: str, on_oxygen: bool | None) -> News2:
    """NEWS2 of these values (by LOINC code, in the stored units), SpO2 on scale 1."""
    parts = []
    for code, bands in _MEASURED:
        value = values.get(code)
        if value is None:
            parts.append(News2Part(code, vital_label(code), None))
        else:
            parts.append(News2Part(code, vital_label(code), _band_points(float(value), bands), float(value)))
    # RCP 2017 chart 1 order: oxygen after SpO2, consciousness after pulse.
    oxygen = News2Part(
        "oxygen", OXYGEN_LABEL, None if on_oxygen is None else (_OXYGEN_POINTS if on_oxygen else 0)
    )
    parts.insert(2, oxygen)
    known = consciousness in Consciousness.ALL
    alert = consciousness == Consciousness.ALERT
    parts.insert(
        5,
        News2Part(
            "consciousness",
            CONSCIOUSNESS_LABEL,
            (0 if alert else _NOT_ALERT_POINTS) if known else None,
            code=consciousness if known else "",
        ),
    )
    return News2(tuple(parts))


def _news2_flags(score: News2) -> list[RedFlag]:
    flags = []
    for part in score.parts:
        if part.points != 3:
            continue
        shown = (
            lazy_gettext(LABELS["consciousness"][part.code])
            if part.key == "consciousness"
            else f"{number(part.value or 0)} {lazy_gettext(_UNITS[part.key])}"
        )
        flags.append(
            RedFlag(
                part.key if part.key != "consciousness" else "",
                part.value,
                N_("%(what)s: %(value)s — 3 балла NEWS2"),
                FormOfCare.URGENT,
                {"what": lazy_gettext(part.label), "value": shown},
            )
        )
    return flags


# -- children -----------------------------------------------------------------------

#: Age bands (months, upper bound exclusive) with the 1st and 99th centiles of heart
#: rate and of respiratory rate in healthy children: Fleming S, Thompson M, Stevens R,
#: et al. Normal ranges of heart rate and respiratory rate in children from birth to
#: 18 years of age: a systematic review of observational studies. Lancet 2011;377:
#: 1011–18 (its centile tables, web tables 4 and 5; the first band's low heart rate
#: is the «birth» row). A value inside them is normal for the age and raises no flag.
_CHILD_BANDS: tuple[tuple[int, str, tuple[int, int], tuple[int, int]], ...] = (
    # upto months, label, heart rate 1st–99th, respiratory rate 1st–99th
    (3, N_("0–3 мес."), (90, 181), (25, 66)),
    (6, N_("3–6 мес."), (104, 175), (24, 64)),
    (9, N_("6–9 мес."), (98, 168), (23, 61)),
    (12, N_("9–12 мес."), (93, 161), (22, 58)),
    (18, N_("12–18 мес."), (88, 156), (21, 53)),
    (24, N_("18–24 мес."), (82, 149), (19, 46)),
    (36, N_("2–3 года"), (76, 142), (18, 38)),
    (48, N_("3–4 года"), (70, 136), (17, 33)),
    (72, N_("4–6 лет"), (65, 131), (17, 29)),
    (96, N_("6–8 лет"), (59, 123), (16, 27)),
    (144, N_("8–12 лет"), (52, 115), (14, 25)),
    (180, N_("12–15 лет"), (47, 108), (12, 23)),
    (216, N_("15–18 лет"), (43, 104), (11, 22)),
)


def _child_band(months: int) -> tuple[str, tuple[int, int], tuple[int, int]]:
    for upto, label, pulse, respiration in _CHILD_BANDS:
        if months < upto:
            return label, pulse, respiration
    return _CHILD_BANDS[-1][1:]


def _lowest_systolic(months: int, days: int) -> int:
    """Hypotension below this: term neonates (0–28 days) 60, infants 70, 1–10 years
    70 + 2 × age in years, 10 years and over 90 (American Heart Association, PALS
    Provider Manual, 2020: hypotension by age)."""
    if days <= 28:
        return 60
    if months < 12:
        return 70
    if months < 120:
        return 70 + 2 * (months // 12)
    return 90


_HYPOTHERMIA = N_("Температура тела %(value)s °C — 35 и ниже")


def _child_flags(values: Mapping[str, float], months: int, days: int) -> list[RedFlag]:
    band, (pulse_low, pulse_high), (rr_low, rr_high) = _child_band(months)
    flags = []
    for code, low, high in ((PULSE, pulse_low, pulse_high), (RESPIRATION, rr_low, rr_high)):
        value = values.get(code)
        if value is not None and not (low <= value <= high):
            flags.append(
                RedFlag(
                    code,
                    float(value),
                    N_("%(what)s %(value)s в мин — вне нормы для возраста %(age)s: %(low)s–%(high)s в мин"),
                    FormOfCare.URGENT,
                    {
                        "what": lazy_gettext(vital_label(code)),
                        "value": number(value),
                        "age": lazy_gettext(band),
                        "low": low,
                        "high": high,
                    },
                )
            )
    systolic = values.get(SYSTOLIC)
    lowest = _lowest_systolic(months, days)
    if systolic is not None and systolic < lowest:
        # Hypotension in a child is decompensated shock.
        message = N_("Систолическое АД %(value)s мм рт. ст. — ниже %(low)s, нижней границы для возраста")
        flags.append(
            RedFlag(
                SYSTOLIC,
                float(systolic),
                message,
                FormOfCare.EMERGENCY,
                {"value": number(systolic), "low": lowest},
            )
        )
    spo2 = values.get(SPO2)
    if spo2 is not None and spo2 < 90:
        # WHO. Oxygen therapy for children, 2016: hypoxaemia, give oxygen below 90 %.
        flags.append(_flag(SPO2, spo2, N_("SpO2 %(value)s %% — ниже 90 %%"), FormOfCare.EMERGENCY))
    elif spo2 is not None and spo2 <= 95:
        # NICE NG143 (fever in under 5s), traffic-light table: SpO2 ≤ 95 % in air is amber.
        flags.append(_flag(SPO2, spo2, N_("SpO2 %(value)s %% — 95 %% и ниже"), FormOfCare.URGENT))
    temperature = values.get(TEMPERATURE)
    if temperature is None:
        return flags
    # NICE NG143 traffic-light table: under 3 months ≥ 38 °C is red, 3–6 months ≥ 39 °C amber.
    if months < 3 and temperature >= 38:
        message, form = N_("Температура тела %(value)s °C в возрасте до 3 месяцев"), FormOfCare.EMERGENCY
        flags.append(_flag(TEMPERATURE, temperature, message, form))
    elif 3 <= months < 6 and temperature >= 39:
        message, form = N_("Температура тела %(value)s °C в возрасте 3–6 месяцев"), FormOfCare.URGENT
        flags.append(_flag(TEMPERATURE, temperature, message, form))
    elif temperature <= 35:
        # ≤ 35,0 °C: hypothermia, the band that scores 3 in NEWS2 (RCP 2017).
        flags.append(_flag(TEMPERATURE, temperature, _HYPOTHERMIA, FormOfCare.URGENT))
    return flags


def _flag(code: str, value: float, message: str, form: str) -> RedFlag:
    return RedFlag(code, float(value), message, form, {"value": number(value)})


# -- every age or adults ----------------------------------------------------------

#: Sources: glucose < 3,0 mmol/L is clinically significant (level 2) hypoglycaemia
#: (International Hypoglycaemia Study Group, Diabetes Care 2017;40:155–7); > 20 mmol/L is the
#: clinical lead's local threshold for a hyperglycaemic crisis to rule out. Systolic
#: ≥ 180 or diastolic ≥ 120 mm Hg is a hypertensive crisis (ACC/AHA 2017 guideline,
#: Whelton PK et al., Hypertension 2018;71:e13–e115: > 180 and/or > 120; ESC/ESH 2018:
#: grade 3 from 180) — NEWS2 only scores systolic ≥ 220.
_OTHER_RULES: tuple[tuple[str, str, float, str, str, bool], ...] = (
    # code, "<" or ">=" or ">", threshold, message, form, adults only
    (GLUCOSE, "<", 3, N_("Глюкоза крови %(value)s ммоль/л — ниже 3"), FormOfCare.EMERGENCY, False),
    (GLUCOSE, ">", 20, N_("Глюкоза крови %(value)s ммоль/л — выше 20"), FormOfCare.URGENT, False),
    (SYSTOLIC, ">=", 180, N_("Систолическое АД %(value)s мм рт. ст. — 180 и выше"), FormOfCare.URGENT, True),
    (
        DIASTOLIC,
        ">=",
        120,
        N_("Диастолическое АД %(value)s мм рт. ст. — 120 и выше"),
        FormOfCare.URGENT,
        True,
    ),
)
_COMPARE = {"<": float.__lt__, ">": float.__gt__, ">=": float.__ge__}


def _other_flags(values: Mapping[str, float], adult: bool, already: set[str]) -> list[RedFlag]:
    flags = []
    for code, op, threshold, message, form, adults_only in _OTHER_RULES:
        value = values.get(code)
        if value is None or (adults_only and not adult) or code in already:
            continue
        if _COMPARE[op](float(value), float(threshold)):
            flags.append(_flag(code, value, message, form))
    return flags


# -- the result -----------------------------------------------------------------------

#: What the children's rules read, in the order they are listed as missing.
_CHILD_READS = (RESPIRATION, SPO2, SYSTOLIC, PULSE, TEMPERATURE)


@dataclass(frozen=True)
class EarlyWarning:
    """What the vitals say: NEWS2 (adults) or the age band (children), the flags, the proposal."""

    adult: bool
    news2: News2 | None
    flags: list[RedFlag]
    proposed: str | None  # a FormOfCare value; None: плановая is fine
    missing: list[str]  # msgids of what was not recorded
    age_band: str = ""  # children: the Fleming age band, a msgid

    @property
    def partial(self) -> bool:
        return bool(self.missing)

    @property
    def missing_text(self) -> str:
        """What was not recorded, in the user's language."""
        return ", ".join(gettext(label) for label in self.missing)


def age_in_months(born: date, on: date) -> int:
    """Full months of age on a day."""
    months = (on.year - born.year) * 12 + on.month - born.month - (on.day < born.day)
    return max(months, 0)


def assess(
    values: Mapping[str, float],
    *,
    born: date,
    on: date,
    consciousness: str = "",
    on_oxygen: bool | None = None,
) -> EarlyWarning:
    """The early warning for a patient born on `born` whose vitals were taken on `on`."""
    months = age_in_months(born, on)
    adult = months >= ADULT_FROM * 12
    if adult:
        score = news2(values, consciousness, on_oxygen)
        flags = _news2_flags(score)
        flags += _other_flags(values, True, {f.loinc for f in flags})
        proposed = score.proposed
        missing = score.missing
        band = ""
    else:
        score = None
        flags = _child_flags(values, months, (on - born).days)
        flags += _other_flags(values, False, {f.loinc for f in flags})
        proposed = None
        missing = [vital_label(code) for code in _CHILD_READS if code not in values]
        band = _child_band(months)[0]
    for flag in flags:
        proposed = more_urgent(proposed, flag.form)
    return EarlyWarning(adult, score, flags, proposed, missing, band)


def for_exam(exam: Exam) -> EarlyWarning:
    """The early warning of a stored exam, for its patient's age on the exam's day."""
    return assess(
        values_of(observations(exam)),
        born=exam.patient.birth_date,
        on=exam.taken_at.date(),
        consciousness=exam.consciousness or "",
        on_oxygen=exam.on_oxygen,
    )
