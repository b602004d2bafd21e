"""«Записать пациента» without a browser: who the search finds, the card it creates, and the JSON
API that books by the same rules as the wizard."""

from __future__ import annotations

import pytest

from central.patient_booking import patients
from domain.errors import ValidationError
from domain.models import Appeal, Attachment, Organization, Patient, Region, Staff
from tests.helpers.appeals import login_page
from tests.helpers.data import future_slot, rows


def test_the_search_finds_by_phone_snils_and_policy_within_the_region(central_app) -> None:  # type: ignore[no-untyped-def]
    _, data = central_app
    ivanova = Staff.get_by_id(data.consultants["ivanova"])
    mother = Patient.get_by_id(data.patients["Сидорова Елена Андреевна@1"])
    elder = Patient.get_by_id(data.patients["Кузьмин Пётр Васильевич@1"])

    by_phone = {p.full_name for p in patients.search(ivanova, "8 912 100-45-67")}
    assert by_phone == {"Сидорова Елена Андреевна", "Сидорова Мария Игоревна", "Сидоров Артём Игоревич"}
    assert [p.id for p in patients.search(ivanova, elder.snils_display)] == [elder.id]
    assert [p.id for p in patients.search(ivanova, elder.enp)] == [elder.id]
    assert mother.id not in {p.id for p in patients.search(ivanova, "+7 999 000-00-00")}
    with pytest.raises(ValidationError, match="телефон, СНИЛС"):
        patients.search(ivanova, "Сидорова")  # never by name

    # A post of another region is not searched.
    elsewhere = Organization.create(
        name="ФАП д. Дальняя",
        kind="post",
        region=Region.create(name="Псковская область", timezone="Europe/Moscow"),
    )
    Patient.update(organization=elsewhere).where(Patient.id == elder.id).execute()
    assert patients.search(ivanova, elder.snils_display) == []


def test_the_api_books_by_the_wizards_rules(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client = app.test_client()
    token = login_page(client, "ivanova")
    smirnov = Staff.get_by_id(data.consultants["smirnov"])
    mother = data.patients["Сидорова Елена Андреевна@1"]
    body = {
        "patient": mother,
        "consultant": smirnov.id,
        "slot": future_slot(smirnov).id,
        "question": "Одышка при нагрузке",
        "kind": "primary",
        "contact_mode": "audio",
    }
    headers = {"X-CSRF-Token": token}
    before = rows(Appeal)

    no_consent = client.post("/api/v1/bookings", json=body, headers=headers)
    assert no_consent.status_code == 400 and no_consent.get_json()["field"] == "consent_by"
    stranger = client.post("/api/v1/bookings", json=body | {"patient": "no-such"}, headers=headers)
    assert stranger.status_code == 400 and stranger.get_json()["field"] == "patient"
    child = data.patients["Сидорова Мария Игоревна@1"]  # Smirnov is a cardiologist for adults
    too_young = client.post(
        "/api/v1/bookings", json=body | {"patient": child, "consent_by": "representative"}, headers=headers
    )
    assert too_young.status_code == 400 and "Кардиология" in too_young.get_json()["message"]
    assert rows(Appeal) == before

    made = client.post("/api/v1/bookings", json=body | {"consent_by": "patient"}, headers=headers)
    assert made.status_code == 201, made.get_json()
    appeal = Appeal.get_by_id(made.get_json()["id"])
    assert (appeal.patient_id, appeal.consultant_id, appeal.author_id) == (
        mother,
        smirnov.id,
        data.consultants["ivanova"],
    )
    assert (appeal.kind, appeal.contact_mode) == ("primary", "audio") and rows(Attachment) == 0
    taken = client.post("/api/v1/bookings", json=body | {"consent_by": "patient"}, headers=headers)
    assert taken.status_code == 400 and taken.get_json()["field"] == "slot"


def test_a_new_card_is_refused_for_a_duplicate_snils_or_a_child_without_representative(central_app) -> None:  # type: ignore[no-untyped-def]
    _, data = central_app
    ivanova = Staff.get_by_id(data.consultants["ivanova"])
    elder = Patient.get_by_id(data.patients["Кузьмин Пётр Васильевич@1"])
    card = {
        "last_name": "Орлов",
        "first_name": "Иван",
        "birth_date": "1970-01-02",
        "sex": "male",
        "post": data.posts[0][0],
        "phone": "+7 999 123-45-67",
    }
    before = rows(Patient)
    with pytest.raises(ValidationError, match="уже зарегистрирован"):
        patients.create(ivanova, card | {"snils": elder.snils})
    with pytest.raises(ValidationError, match="представител"):
        patients.create(ivanova, card | {"birth_date": "2020-03-04"})
    with pytest.raises(ValidationError, match="Выберите ФАП"):
        patients.create(ivanova, card | {"post": data.centre_id})  # a centre is not a post
    assert rows(Patient) == before
    made = patients.create(ivanova, card)
    assert (
        made.organization_id == data.posts[0][0] and made.phone == "+79991234567" and made.origin == "central"
    )
