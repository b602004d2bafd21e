"""The feldsher at the post, offline: login, patients, «Записать пациента»."""

from __future__ import annotations

import re

from domain.models import Appeal, Patient
from tests.helpers.data import future_slot, rows
from tests.helpers.web import login


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match
    return match.group(1)


def test_feldsher_logs_in_offline_and_sees_the_lists(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _data = node_app
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"login": "fap1", "password": "demo1234", "csrf_token": _csrf(page)},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Новые обращения" in html and "Просроченные" in html and "Записать пациента" in html


def test_wrong_password_and_other_posts_feldsher_are_refused(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client = app.test_client()
    wrong = client.post("/api/v1/session", json={"login": "fap1", "password": "nope"})
    other = client.post("/api/v1/session", json={"login": "fap2", "password": "demo1234"})
    consultant = client.post("/api/v1/session", json={"login": "ivanova", "password": "demo1234"})
    for response in (wrong, other, consultant):
        assert response.status_code == 401
        assert response.get_json()["message"] == "Неверный логин или пароль"


def test_a_phone_finds_the_representative_and_the_children(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client = app.test_client()
    login(client, "fap1")
    found = client.get("/api/v1/patients", query_string={"q": "8 912 100-45-67"}).get_json()
    names = sorted(p["full_name"] for p in found["patients"])
    assert names == [
        "Сидоров Артём Игоревич",
        "Сидорова Елена Андреевна",
        "Сидорова Мария Игоревна",
    ]
    html = client.get("/patients", query_string={"q": "+79121004567"}).get_data(as_text=True)
    assert "Найдено несколько медицинских карт" in html


def test_invalid_identity_numbers_are_refused_and_nothing_is_stored(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client = app.test_client()
    token = login(client, "fap1")
    before = rows(Patient)
    base = {"last_name": "Орлов", "first_name": "Илья", "birth_date": "1970-01-02", "sex": "male"}
    cases = {
        "snils": ({"snils": "112-233-445 96"}, "Контрольное число СНИЛС не сходится"),
        "enp": ({"enp": "4111111111111112"}, "Контрольная цифра полиса ОМС не сходится"),
        "phone": ({"phone": "+1 202 555 0143"}, "не похож на российский"),
    }
    for field, (extra, message) in cases.items():
        response = client.post("/api/v1/patients", json=base | extra, headers={"X-CSRF-Token": token})
        body = response.get_json()
        assert response.status_code == 400, body
        assert body["field"] == field and message in body["message"]
    assert rows(Patient) == before
    page = client.get("/patients/new").get_data(as_text=True)
    form = client.post("/patients/new", data={**base, "snils": "11223344596", "csrf_token": _csrf(page)})
    assert form.status_code == 400
    assert "Контрольное число СНИЛС не сходится" in form.get_data(as_text=True)
    assert rows(Patient) == before


def test_registering_a_patient_normalises_numbers(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client = app.test_client()
    token = login(client, "fap1")
    response = client.post(
        "/api/v1/patients",
        json={
            "last_name": "Орлов",
            "first_name": "Илья",
            "birth_date": "1970-01-02",
            "sex": "male",
            "snils": "123-456-789 64",
            "phone": "8 (915) 000-11-22",
        },
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 201, response.get_json()
    stored = Patient.get_by_id(response.get_json()["id"])
    assert (stored.snils, stored.phone, stored.origin) == (
        "12345678964",
        "+79150001122",
        "test-post-1",
    )
    again = client.post(
        "/api/v1/patients",
        json={
            "last_name": "Орлов",
            "first_name": "И.",
            "birth_date": "1970-01-02",
            "sex": "male",
            "snils": "12345678964",
        },
        headers={"X-CSRF-Token": token},
    )
    assert again.status_code == 400 and "уже зарегистрирован" in again.get_json()["message"]


def test_an_appeal_for_a_taken_slot_is_refused(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    client = app.test_client()
    token = login(client, "fap1")
    consultant = data.consultants["ivanova"]
    slot = client.get(f"/api/v1/consultants/{consultant}/slots").get_json()["slots"][0]["id"]
    body = {
        "patient": data.patients["Кузьмин Пётр Васильевич@1"],
        "consultant": consultant,
        "slot": slot,
        "form_of_care": "planned",
        "question": "Коррекция терапии?",
        "consent_by": "patient",  # the ИДС to the consultation
    }
    first = client.post("/api/v1/appeals", json=body, headers={"X-CSRF-Token": token})
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["status"] == "new"
    second = client.post(
        "/api/v1/appeals",
        json=body | {"question": "Другой вопрос"},
        headers={"X-CSRF-Token": token},
    )
    assert second.status_code == 400
    assert "уже занято" in second.get_json()["message"]
    assert rows(Appeal) == 1
    free = client.get(f"/api/v1/consultants/{consultant}/slots").get_json()["slots"]
    assert slot not in [s["id"] for s in free]


def test_the_wizard_creates_an_appeal_after_review(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    client = app.test_client()
    token = login(client, "fap1")
    patient = data.patients["Кузьмин Пётр Васильевич@1"]
    consultant = data.consultants["kuznetsova"]
    doctors = client.get("/book/doctor", query_string={"patient": patient}).get_data(as_text=True)
    assert "Кузнецова Ольга Петровна" in doctors
    slots_page = client.get("/book/slot", query_string={"patient": patient, "consultant": consultant})
    assert "Изменить дату и время" in slots_page.get_data(as_text=True)
    slot = future_slot(consultant)
    fields = {
        "patient": patient,
        "consultant": consultant,
        "slot": slot.id,
        "kind": "primary",
        "form_of_care": "planned",
        "contact_mode": "video",
        "question": "Головные боли по утрам",
        "consent_by": "patient",  # the ИДС to the consultation
        "anamnesis": "",
        "complaints": "",
        "exam_data": "",
    }
    review = client.post("/book/details", data=fields | {"csrf_token": token})
    assert "Информация верна, создать обращение" in review.get_data(as_text=True)
    assert rows(Appeal) == 0  # the review stores nothing
    created = client.post("/book/create", data=fields | {"csrf_token": token}, follow_redirects=True)
    html = created.get_data(as_text=True)
    assert "Обращение создано" in html and "ещё не отправлено" in html
    assert rows(Appeal) == 1


def test_node_serves_its_openapi(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/patients", "/api/v1/appeals", "/api/v1/sync/status"} <= set(spec["paths"])
    assert "post" in spec["paths"]["/api/v1/appeals"]
