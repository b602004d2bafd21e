"""The consultant sees the exam's early warning and the feldsher's reason for a less urgent form."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.errors import ValidationError
from tests.helpers.appeals import login_page, new_appeal

from .exam_data import exam


def test_the_consultant_sees_the_proposed_form_and_the_reason_for_a_less_urgent_one(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = new_appeal(data)  # плановая
    appeal.proposed_form = "urgent"
    with pytest.raises(ValidationError, match="укажите причину"):
        appeal.save()  # no reason: refused on this side too
    appeal.form_reason = "Давление 182/104 у пациента привычное, лечится амбулаторно"
    appeal.save()
    sent = exam(
        appeal,
        timedelta(minutes=20),
        {"8480-6": 182.0, "8462-4": 104.0, "8867-4": 88.0, "59408-5": 95.0},
        sent=True,
        complaints="Головная боль",
    )
    sent.consciousness, sent.on_oxygen = "A", False
    sent.save()
    client = app.test_client()
    login_page(client, "ivanova")
    html = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "по показателям предложена: неотложная" in html
    assert "Причина выбора формы" in html
    assert "Давление 182/104 у пациента привычное, лечится амбулаторно" in html
    section = html[html.index('id="exam"') :]
    # NEWS2 of this exam: SpO2 95 scores 1, the rest 0; respiration and temperature missing.
    assert "<strong>NEWS2: 1</strong>" in section and "неполная оценка" in section
    assert "Не указаны: Частота дыхания, Температура тела." in section
    assert "<td>Сознание</td><td>A — ясное</td>" in section
    assert "Систолическое АД 182 мм рт. ст. — 180 и выше" in section  # the kiosk's flag, seen here too
