"""The ИДС and the specialties' ages at central: the appeal page, the protocol PDF,
«Запись на консультацию» and the administrator's specialty page."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.models import Appeal, Patient, Specialty
from tests.helpers.appeals import PATIENT, closed, in_work
from tests.helpers.data import future_slot, rows
from tests.helpers.web import login


def test_the_appeal_page_shows_who_consented_and_when(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, _ = in_work(client, data)
    page = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "ИДС на телемедицинскую консультацию" in page
    assert "дано: пациент" in page

    Appeal.update(consent_by="representative", consent_name="Кузьмина Анна Петровна").where(
        Appeal.id == appeal.id
    ).execute()
    page = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "дано: законный представитель — Кузьмина Анна Петровна" in page


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")
def test_the_protocol_pdf_states_the_consent(central, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, _ = closed(client, data)
    pdf = client.get(f"/appeals/{appeal.id}/protocol.pdf")
    assert pdf.status_code == 200
    path = tmp_path / "protocol.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    when = appeal.consent_at
    assert "Согласие (ИДС) на ТМК" in text
    assert "дано: пациент" in " ".join(text.split())
    local = when.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("Europe/Moscow"))
    assert f"{local:%d.%m.%Y %H:%M}" in text


def _booking(token: str, doctor: str, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "consultant": doctor,
        "slot": future_slot(doctor).id,
        "question": "Повторная консультация через месяц",
        **extra,
    }


def test_central_booking_needs_the_consent(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = closed(client, data)
    form = client.get(f"/appeals/{appeal.id}/routing/booking").get_data(as_text=True)
    assert "Информированное добровольное согласие (ИДС)" in form and "В исходном обращении" in form
    before = rows(Appeal)
    fields = _booking(token, data.consultants["smirnov"])
    refused = client.post(f"/appeals/{appeal.id}/routing/booking", data={**fields, "step": "create"})
    assert refused.status_code == 400
    assert "Без информированного добровольного согласия" in refused.get_data(as_text=True)
    api = client.post(
        f"/api/v1/appeals/{appeal.id}/bookings",
        json={k: v for k, v in fields.items() if k != "csrf_token"},
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 400 and api.get_json()["field"] == "consent_by"
    assert rows(Appeal) == before

    review = client.post(
        f"/appeals/{appeal.id}/routing/booking", data={**fields, "consent_by": "patient", "step": "review"}
    )
    assert "дано: пациент" in review.get_data(as_text=True)
    created = client.post(
        f"/appeals/{appeal.id}/routing/booking", data={**fields, "consent_by": "patient", "step": "create"}
    )
    assert created.status_code == 302 and rows(Appeal) == before + 1
    booked = Appeal.get(Appeal.slot == fields["slot"])
    assert booked.consent_by == "patient" and booked.consent_at is not None


def test_central_does_not_book_a_78_year_old_into_pediatrics(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = closed(client, data)
    assert Patient.get_by_id(data.patients[PATIENT]).birth_date.year == 1948
    pediatrician = data.consultants["popov"]
    form = client.get(f"/appeals/{appeal.id}/routing/booking").get_data(as_text=True)
    assert f'value="{pediatrician}"' not in form and "Попов Дмитрий" not in form
    before = rows(Appeal)
    refused = client.post(
        f"/api/v1/appeals/{appeal.id}/bookings",
        json={
            k: v for k, v in _booking(token, pediatrician, consent_by="patient").items() if k != "csrf_token"
        },
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 400
    assert "«Педиатрия» — для пациентов младше 18 лет" in refused.get_json()["message"]
    assert rows(Appeal) == before


def test_the_administrator_sets_a_specialty_s_ages(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client = app.test_client()
    token = login(client, "admin")
    page = client.get("/admin/specialties").get_data(as_text=True)
    assert "младше 18 лет" in page and "с 18 лет" in page  # Pediatrics and the adult ones
    neurology = Specialty.get(Specialty.name == "Неврология")
    form = {"csrf_token": token, "id": neurology.id, "name": "Неврология", "code": ""}
    wrong = client.post("/admin/specialties", data=form | {"age_from": "18", "age_under": "16"})
    assert wrong.status_code == 400 and "Возраст «с» должен быть меньше возраста «до»" in wrong.get_data(
        as_text=True
    )
    saved = client.post(
        "/admin/specialties", data=form | {"age_from": "", "age_under": ""}, follow_redirects=True
    )
    assert saved.status_code == 200
    stored = Specialty.get_by_id(neurology.id)
    assert (stored.age_from, stored.age_under) == (None, None)
    client.post("/admin/specialties", data=form | {"age_from": "16", "age_under": ""})
    assert Specialty.get_by_id(neurology.id).age_from == 16
