"""The early-warning rules: NEWS2's bands for adults (RCP 2017), age ranges for children."""

from __future__ import annotations

from datetime import date

import pytest

from web.earlywarning import assess
from web.vitals import DIASTOLIC, GLUCOSE, PULSE, RESPIRATION, SPO2, SYSTOLIC, TEMPERATURE

TODAY = date(2026, 12, 7)
ADULT = date(1970, 5, 20)
ONE_YEAR_OLD = date(2025, 12, 1)


def _adult(values: dict[str, float], consciousness: str = "A", on_oxygen: bool | None = False):  # type: ignore[no-untyped-def]
    return assess(values, born=ADULT, on=TODAY, consciousness=consciousness, on_oxygen=on_oxygen)


#: All seven parameters in their 0-point bands.
CALM = {RESPIRATION: 16, SPO2: 97, SYSTOLIC: 125, PULSE: 72, TEMPERATURE: 36.6}


def test_news2_of_a_septic_adult_is_12_and_asks_for_emergency_care() -> None:
    warning = _adult({RESPIRATION: 25, SPO2: 91, SYSTOLIC: 95, PULSE: 125, TEMPERATURE: 39.2})
    score = warning.news2
    assert score is not None and score.complete and not warning.partial
    assert [(part.key, part.points) for part in score.parts] == [
        (RESPIRATION, 3),
        (SPO2, 3),
        ("oxygen", 0),
        (SYSTOLIC, 2),
        (PULSE, 2),
        ("consciousness", 0),
        (TEMPERATURE, 2),
    ]
    assert score.score == 12 and score.risk == "высокий риск"
    assert warning.proposed == "emergency"
    assert [f.text for f in warning.flags] == [
        "Частота дыхания: 25 в мин — 3 балла NEWS2",
        "SpO2: 91 % — 3 балла NEWS2",
    ]


@pytest.mark.parametrize(
    ("code", "bands"),
    [
        (RESPIRATION, [(8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3), (32, 3)]),
        (SPO2, [(91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)]),
        (SYSTOLIC, [(90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3)]),
        (
            PULSE,
            [(40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2), (131, 3)],
        ),
        (
            TEMPERATURE,
            [(35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1), (39.0, 1), (39.1, 2)],
        ),
    ],
)
def test_every_news2_band_edge_scores_as_the_rcp_chart(code: str, bands: list[tuple[float, int]]) -> None:
    for value, points in bands:
        score = _adult(CALM | {code: value}).news2
        assert score is not None
        assert {part.key: part.points for part in score.parts}[code] == points, (code, value)
        assert score.score == points, (code, value)


def test_oxygen_scores_2_and_any_level_below_alert_scores_3() -> None:
    on_oxygen = _adult(CALM, on_oxygen=True)
    assert on_oxygen.news2 and on_oxygen.news2.score == 2 and on_oxygen.proposed is None
    for level in "CVPU":
        warning = _adult(CALM, consciousness=level)
        assert warning.news2 and warning.news2.score == 3, level
        assert warning.proposed == "urgent", level  # a single parameter scoring 3
        assert [f.loinc for f in warning.flags] == [""]
    assert _adult(CALM, consciousness="V").flags[0].text == "Сознание: V — реагирует на голос — 3 балла NEWS2"


def test_the_aggregate_proposes_urgent_from_5_and_emergency_from_7() -> None:
    four = _adult(CALM | {RESPIRATION: 22, PULSE: 111})  # 2 + 2
    five = _adult(CALM | {RESPIRATION: 22, PULSE: 111, TEMPERATURE: 38.5})  # 2 + 2 + 1
    six = _adult(CALM | {RESPIRATION: 22, PULSE: 111, TEMPERATURE: 39.5})  # 2 + 2 + 2
    seven = _adult(CALM | {RESPIRATION: 22, PULSE: 111, TEMPERATURE: 39.5}, on_oxygen=True)
    assert [w.news2.score for w in (four, five, six, seven) if w.news2] == [4, 5, 6, 8]
    assert (four.proposed, five.proposed, six.proposed, seven.proposed) == (
        None,
        "urgent",
        "urgent",
        "emergency",
    )
    assert five.flags == [] and five.news2 and five.news2.risk == "средний риск"
    assert _adult(CALM | {PULSE: 111, TEMPERATURE: 39.5, SYSTOLIC: 105}, on_oxygen=False).proposed == "urgent"
    exactly_seven = _adult(CALM | {RESPIRATION: 22, PULSE: 111, TEMPERATURE: 39.5, SYSTOLIC: 105})
    assert exactly_seven.news2 and exactly_seven.news2.score == 7 and exactly_seven.proposed == "emergency"


def test_missing_parameters_are_named_and_the_score_is_partial() -> None:
    warning = assess({SPO2: 97, PULSE: 72}, born=ADULT, on=TODAY)
    score = warning.news2
    assert score is not None and not score.complete and warning.partial
    assert score.missing == [
        "Частота дыхания",
        "Кислород",
        "Систолическое АД",
        "Сознание",
        "Температура тела",
    ]
    assert warning.missing_text == "Частота дыхания, Кислород, Систолическое АД, Сознание, Температура тела"
    assert [part.shown for part in score.parts][:3] == ["—", "97 %", "—"]
    # What was measured still counts: the missing parameters can only add points.
    low = assess({SPO2: 88}, born=ADULT, on=TODAY)
    assert low.news2 and low.news2.score == 3 and low.proposed == "urgent"


def test_an_adult_breathing_32_a_minute_is_flagged() -> None:
    warning = _adult(CALM | {RESPIRATION: 32})
    assert warning.proposed == "urgent"
    assert [f.text for f in warning.flags] == ["Частота дыхания: 32 в мин — 3 балла NEWS2"]


def test_the_rules_beyond_news2_diastolic_120_hypothermia_glucose() -> None:
    assert [f.text for f in _adult(CALM | {DIASTOLIC: 120}).flags] == [
        "Диастолическое АД 120 мм рт. ст. — 120 и выше"
    ]
    assert _adult(CALM | {DIASTOLIC: 119}).flags == []
    assert _adult(CALM | {SYSTOLIC: 180}).proposed == "urgent"  # hypertensive crisis, NEWS2 0
    assert _adult(CALM | {SYSTOLIC: 179}).proposed is None
    cold = _adult(CALM | {TEMPERATURE: 35})
    assert cold.proposed == "urgent" and cold.flags[0].text == "Температура тела: 35 °C — 3 балла NEWS2"
    assert _adult(CALM | {GLUCOSE: 2.9}).proposed == "emergency"
    assert _adult(CALM | {GLUCOSE: 20.5}).proposed == "urgent"
    # NEWS2 already flags systolic 225: one line for it, not two.
    assert [f.loinc for f in _adult(CALM | {SYSTOLIC: 225}).flags] == [SYSTOLIC]


def test_news2_starts_at_16() -> None:
    almost = assess({PULSE: 140}, born=date(2011, 1, 7), on=date(2026, 12, 7))  # 15 years 11 months
    sixteen = assess({PULSE: 140}, born=date(2010, 12, 7), on=date(2026, 12, 7))
    assert almost.news2 is None and not almost.adult and almost.age_band == "15–18 лет"
    assert sixteen.news2 is not None and sixteen.adult


def test_a_one_year_old_with_pulse_140_and_systolic_80_is_normal_for_the_age() -> None:
    warning = assess({PULSE: 140, SYSTOLIC: 80, RESPIRATION: 32}, born=ONE_YEAR_OLD, on=TODAY)
    assert warning.news2 is None and warning.flags == [] and warning.proposed is None
    assert warning.age_band == "12–18 мес."
    assert warning.missing == ["SpO2", "Температура тела"]


def test_values_abnormal_for_an_infant_are_flagged_with_the_range_for_the_age() -> None:
    fast = assess({PULSE: 170, RESPIRATION: 60}, born=ONE_YEAR_OLD, on=TODAY)
    assert [f.text for f in fast.flags] == [
        "Пульс 170 в мин — вне нормы для возраста 12–18 мес.: 88–156 в мин",
        "Частота дыхания 60 в мин — вне нормы для возраста 12–18 мес.: 21–53 в мин",
    ]
    assert fast.proposed == "urgent"
    # The same pulse is normal at 3 months (1st–99th centile 104–175).
    assert assess({PULSE: 170}, born=date(2026, 9, 1), on=TODAY).flags == []
    shock = assess({SYSTOLIC: 71}, born=ONE_YEAR_OLD, on=TODAY)  # PALS: below 70 + 2 × 1
    assert shock.proposed == "emergency"
    assert shock.flags[0].text == "Систолическое АД 71 мм рт. ст. — ниже 72, нижней границы для возраста"
    assert assess({SYSTOLIC: 72}, born=ONE_YEAR_OLD, on=TODAY).flags == []
    assert assess({SPO2: 95}, born=ONE_YEAR_OLD, on=TODAY).proposed == "urgent"
    assert assess({SPO2: 89}, born=ONE_YEAR_OLD, on=TODAY).proposed == "emergency"
    assert assess({SPO2: 96}, born=ONE_YEAR_OLD, on=TODAY).flags == []
    newborn = date(2026, 11, 20)
    assert assess({TEMPERATURE: 38.0}, born=newborn, on=TODAY).proposed == "emergency"
    assert assess({TEMPERATURE: 38.0}, born=ONE_YEAR_OLD, on=TODAY).flags == []
    assert assess({TEMPERATURE: 35.0}, born=ONE_YEAR_OLD, on=TODAY).proposed == "urgent"


@pytest.mark.parametrize(
    ("born", "lowest"),
    [
        (date(2026, 11, 27), 60),  # 10 days: a term neonate
        (date(2026, 9, 7), 70),  # 3 months
        (date(2024, 12, 7), 74),  # 2 years: 70 + 2 × 2
        (date(2017, 12, 7), 88),  # 9 years: 70 + 2 × 9
        (date(2016, 12, 7), 90),  # 10 years and over
    ],
)
def test_a_childs_systolic_pressure_is_low_below_the_pals_limit_for_the_age(born: date, lowest: int) -> None:
    below = assess({SYSTOLIC: lowest - 1}, born=born, on=TODAY)
    assert below.proposed == "emergency", born
    assert assess({SYSTOLIC: lowest}, born=born, on=TODAY).flags == [], born


def test_the_age_band_changes_on_the_birthday_month() -> None:
    eleven_months = date(2026, 1, 8)  # 10 full months on 7 December
    twelve_months = date(2025, 12, 7)
    assert assess({}, born=eleven_months, on=TODAY).age_band == "9–12 мес."
    assert assess({}, born=twelve_months, on=TODAY).age_band == "12–18 мес."
    # 160 is above the 99th centile at 12–18 months (156), not at 9–12 months (161).
    assert assess({PULSE: 160}, born=eleven_months, on=TODAY).flags == []
    assert assess({PULSE: 160}, born=twelve_months, on=TODAY).proposed == "urgent"
