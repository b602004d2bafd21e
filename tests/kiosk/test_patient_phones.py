"""Phones at the post: Russian numbers only (+7 is Kazakhstan's code too), extensions kept and found."""

from __future__ import annotations

from domain.models import Patient
from tests.helpers.data import rows

ADULT = {"last_name": "Лесникова", "first_name": "Ольга", "birth_date": "1980-02-14", "sex": "female"}


def register(client, token, **fields):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/patients", json=ADULT | fields, headers={"X-CSRF-Token": token})


def found(client, query: str) -> set[str]:  # type: ignore[no-untyped-def]
    answer = client.get("/api/v1/patients", query_string={"q": query})
    assert answer.status_code == 200, answer.get_json()
    return {p["id"] for p in answer.get_json()["patients"]}


def test_a_kazakh_number_is_refused_with_a_clear_message(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, _ = feldsher
    before = rows(Patient)
    answer = register(client, token, phone="+7 701 234-56-78")
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["field"] == "phone" and "казахстанский" in body["message"]
    assert rows(Patient) == before


def test_russian_mobile_numbers_in_either_form_are_stored_in_e164(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, _ = feldsher
    plus = register(client, token, phone="+7 912 345-67-89")
    eight = register(client, token, phone="8-912-345-67-89", first_name="Вера")
    assert (plus.status_code, eight.status_code) == (201, 201)
    assert {Patient.get_by_id(r.get_json()["id"]).phone for r in (plus, eight)} == {"+79123456789"}


def test_an_office_number_keeps_its_extension_and_is_found_with_or_without_it(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, _ = feldsher
    answer = register(client, token, phone="+7 495 123-45-67 доб. 123")
    assert answer.status_code == 201, answer.get_json()
    patient = Patient.get_by_id(answer.get_json()["id"])
    assert patient.phone == "+74951234567;ext=123"
    assert patient.id in found(client, "+7 495 123-45-67")  # the number as the patient says it
    assert patient.id in found(client, "8 (495) 123-45-67 доб. 123")
    assert patient.id not in found(client, "+7 495 123-45-67 доб. 124")  # a colleague's desk
    card = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert "+7 495 123-45-67 доб. 123" in card  # shown as people write it


def test_the_representatives_phone_follows_the_same_rule(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    patient_id = data.patients["Кузьмин Пётр Васильевич@1"]
    guardian = {
        "representative_relation": "guardian",
        "representative_name": "Кузьмина Анна Петровна",
        "representative_document": "решение суда № 2-123/2026",
    }

    def edit(phone: str):  # type: ignore[no-untyped-def]
        body = guardian | {"representative_phone": phone}
        return client.patch(f"/api/v1/patients/{patient_id}", json=body, headers={"X-CSRF-Token": token})

    kazakh = edit("+77012345678")
    assert kazakh.status_code == 400, kazakh.get_json()
    assert kazakh.get_json()["field"] == "representative_phone"
    assert "казахстанский" in kazakh.get_json()["message"]
    assert Patient.get_by_id(patient_id).representative_name == ""  # nothing stored
    office = edit("8 (4822) 12-34-56 доб. 7")
    assert office.status_code == 200, office.get_json()
    assert Patient.get_by_id(patient_id).representative_phone == "+74822123456;ext=7"
