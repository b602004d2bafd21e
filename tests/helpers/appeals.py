"""Helpers for the protocol tests: a closed appeal at central, pages' CSRF tokens."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from domain.booking import book_appeal
from domain.models import Appeal, Patient, Slot, Staff
from sync.clock import utcnow

PATIENT = "Кузьмин Пётр Васильевич@1"
PASSPHRASE = "Пароль подписи 2025"


def csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def new_appeal(data: Any, consultant: str = "ivanova", minutes_ahead: int = 5) -> Appeal:
    """An appeal from post 1 to `consultant`, for a slot starting `minutes_ahead` from now."""
    doctor = Staff.get_by_id(data.consultants[consultant])
    starts = utcnow() + timedelta(minutes=minutes_ahead)
    slot = Slot.create(consultant=doctor, starts_at=starts, ends_at=starts + timedelta(minutes=30))
    return book_appeal(
        consent_by="patient",  # the ИДС to the consultation
        patient=Patient.get_by_id(data.patients[PATIENT]),
        author=Staff.get(Staff.organization == data.posts[0][0]),
        specialty=doctor.specialty,
        consultant=doctor,
        slot=slot,
        form_of_care="planned",
        question="Повышение АД до 180/100, коррекция терапии?",
    )


def login_page(client: Any, login: str) -> str:
    """Log in through the page; returns the CSRF token of the session."""
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"login": login, "password": "demo1234", "csrf_token": csrf(page)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf(client.get("/appeals").get_data(as_text=True))


def in_work(client: Any, data: Any, consultant: str = "ivanova") -> tuple[Appeal, str]:
    """An appeal `consultant` has taken in work, and the logged-in client's CSRF token."""
    appeal = new_appeal(data, consultant)
    token = login_page(client, consultant)
    taken = client.post(f"/appeals/{appeal.id}/take", data={"csrf_token": token})
    assert taken.status_code == 302
    return appeal, token


def protocol_form(token: str, **extra: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "csrf_token": token,
        "anamnesis": "Гипертоническая болезнь 10 лет",
        "recommendations": "Лозартан 50 мг утром; контроль АД дважды в день",
        "additional_recommendations": "",
        "diagnosis_code": ["I10"],
        "diagnosis_title": [""],
    }
    form.update(extra)
    return form


def closed(client: Any, data: Any, consultant: str = "ivanova") -> tuple[Appeal, str]:
    """An appeal `consultant` has closed with «Отправить протокол»."""
    appeal, token = in_work(client, data, consultant)
    sent = client.post(f"/appeals/{appeal.id}/protocol", data=protocol_form(token))
    assert sent.status_code == 302, sent.get_data(as_text=True)
    return Appeal.get_by_id(appeal.id), token
