"""Editing demographics, «Направления», «Профиль» and «Нужна помощь» at the post, offline."""

from __future__ import annotations

import json
from datetime import date, timedelta

from domain.models import Patient, Referral, SupportRequest
from tests.helpers.data import rows


def test_editing_demographics_changes_only_what_was_changed(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    patient_id = data.patients["Кузьмин Пётр Васильевич@1"]
    before = Patient.get_by_id(patient_id)
    page = client.get(f"/patients/{patient_id}/edit").get_data(as_text=True)
    assert "Изменить данные пациента" in page and "Кузьмин" in page
    form = {
        "last_name": before.last_name,
        "first_name": before.first_name,
        "middle_name": before.middle_name,
        "birth_date": before.birth_date.isoformat(),
        "sex": before.sex,
        "phone": "8 (915) 777-00-11",
        "snils": before.snils_display,
        "enp": before.enp,
        "address": "ул. Садовая, 14",
        "csrf_token": token,
    }
    saved = client.post(f"/patients/{patient_id}/edit", data=form, follow_redirects=True)
    assert "Данные пациента сохранены" in saved.get_data(as_text=True)
    after = Patient.get_by_id(patient_id)
    assert (after.phone, after.address, after.snils) == ("+79157770011", "ул. Садовая, 14", before.snils)
    stamps = json.loads(after.field_stamps)
    assert stamps["phone"] == after.hlc and stamps["address"] == after.hlc
    assert stamps.get("snils") != after.hlc and stamps.get("last_name") != after.hlc


def test_bad_identity_numbers_on_edit_store_nothing(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    patient_id = data.patients["Кузьмин Пётр Васильевич@1"]
    other = Patient.get_by_id(data.patients["Сидорова Елена Андреевна@1"])
    before = Patient.get_by_id(patient_id)
    cases = {
        "snils": ("112-233-445 96", "Контрольное число СНИЛС не сходится"),
        "enp": ("4111111111111112", "Контрольная цифра полиса ОМС не сходится"),
        "phone": ("+1 202 555 0143", "не похож на российский"),
        "birth_date": ("2090-01-01", "Дата рождения не может быть в будущем"),
    }
    for field, (value, message) in cases.items():
        response = client.post(f"/patients/{patient_id}/edit", data={field: value, "csrf_token": token})
        assert response.status_code == 400 and message in response.get_data(as_text=True), field
    duplicate = client.post(f"/patients/{patient_id}/edit", data={"snils": other.snils, "csrf_token": token})
    assert "уже зарегистрирован" in duplicate.get_data(as_text=True)
    assert Patient.get_by_id(patient_id).hlc == before.hlc


def test_the_patient_card_links_every_workflow(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, _, data = feldsher
    patient_id = data.patients["Сидорова Елена Андреевна@1"]
    html = client.get(f"/patients/{patient_id}").get_data(as_text=True)
    for label in ("Новое обследование", "Записать пациента", "Выдать направление", "Изменить данные"):
        assert label in html
    assert "Сидоров Артём Игоревич" in html  # whom she represents
    found = client.get("/patients", query_string={"q": "+79121004567", "pick": "referral"}).get_data(
        as_text=True
    )
    assert f"/referrals/new?patient={patient_id}" in found


def test_a_referral_to_a_specialty_or_a_doctor(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    patient = data.patients["Кузьмин Пётр Васильевич@1"]
    form = client.get("/referrals/new", query_string={"patient": patient}).get_data(as_text=True)
    assert "Информация верна, создать направление" in form and "Иванова Мария Сергеевна" in form
    specialty = client.get("/api/v1/specialties").get_json()["specialties"]
    cardiology = next(s["id"] for s in specialty if s["name"] == "Кардиология")
    neurology = next(s["id"] for s in specialty if s["name"] == "Неврология")
    good = {
        "patient": patient,
        "specialty": cardiology,
        "consultant": data.consultants["ivanova"],
        "valid_until": (date.today() + timedelta(days=30)).isoformat(),
        "diagnoses": "I50.0 Застойная сердечная недостаточность?",
        "justification": "Нарастающая одышка, отёки",
        "csrf_token": token,
    }
    bad = [
        ({"specialty": ""}, "Выберите специальность"),
        ({"specialty": neurology}, "Консультант не ведёт приём по этой специальности"),
        ({"valid_until": ""}, "Укажите срок действия направления или отметьте «Бессрочно»"),
        (
            {"valid_until": (date.today() - timedelta(days=1)).isoformat()},
            "Срок действия направления уже прошёл",
        ),
        ({"justification": "  "}, "Укажите обоснование направления"),
    ]
    for change, message in bad:
        response = client.post("/referrals/new", data=good | change)
        assert response.status_code == 400 and message in response.get_data(as_text=True), message
    assert rows(Referral) == 0
    created = client.post("/referrals/new", data=good, follow_redirects=True)
    html = created.get_data(as_text=True)
    assert "Направление создано" in html and "Кузьмин Пётр Васильевич" in html and "ещё не отправлено" in html
    indefinite = client.post(
        "/api/v1/referrals",
        json={
            "patient": patient,
            "specialty": neurology,
            "indefinite": True,
            "justification": "Головные боли",
        },
        headers={"X-CSRF-Token": token},
    )
    assert indefinite.status_code == 201 and indefinite.get_json()["valid_until"] is None
    listed = client.get("/api/v1/referrals").get_json()["referrals"]
    assert len(listed) == 2 and {r["specialty"]["name"] for r in listed} == {"Кардиология", "Неврология"}
    assert "бессрочно" in client.get("/referrals").get_data(as_text=True)


def test_profile_time_zone_changes_the_shown_times(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, _ = feldsher
    page = client.get("/profile").get_data(as_text=True)
    assert "Часовой пояс" in page and "Дополнительно" in page
    assert client.post("/profile", data={"timezone": "Mars/Olympus", "csrf_token": token}).status_code == 400
    saved = client.post(
        "/profile", data={"timezone": "Asia/Yekaterinburg", "csrf_token": token}, follow_redirects=True
    )
    assert "Часовой пояс сохранён" in saved.get_data(as_text=True)
    assert '<option value="Asia/Yekaterinburg" selected>' in saved.get_data(as_text=True)
    settings = client.get("/settings").get_data(as_text=True)
    assert "Проверка оборудования" in settings and "Медицинские приборы" in settings
    ports = client.get("/api/v1/devices/ports").get_json()
    assert isinstance(ports["ports"], list)


def test_help_is_queued_offline_and_bad_input_stores_nothing(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, _ = feldsher
    page = client.get("/support").get_data(as_text=True)
    assert "Заказать звонок" in page and "Оставить сообщение" in page and "8 (800) 500-02-99" in page
    no_phone = client.post(
        "/support", data={"kind": "callback", "comment": "Не работает камера", "csrf_token": token}
    )
    assert no_phone.status_code == 400 and "Укажите телефон" in no_phone.get_data(as_text=True)
    bad_phone = client.post(
        "/support", data={"kind": "callback", "phone": "12", "comment": "Камера", "csrf_token": token}
    )
    assert bad_phone.status_code == 400
    empty = client.post("/support", data={"kind": "feedback", "text": " ", "csrf_token": token})
    assert "Опишите, что случилось" in empty.get_data(as_text=True)
    assert rows(SupportRequest) == 0
    done = client.post(
        "/support",
        data={
            "kind": "callback",
            "phone": "8 915 111-22-33",
            "comment": "Не работает камера",
            "csrf_token": token,
        },
        follow_redirects=True,
    )
    assert "Заявка на звонок принята" in done.get_data(as_text=True)
    api = client.post(
        "/api/v1/support", json={"kind": "feedback", "text": "Спасибо"}, headers={"X-CSRF-Token": token}
    )
    assert api.status_code == 201
    kinds = sorted((r.kind, r.phone) for r in SupportRequest.select())
    assert kinds == [("callback", "+79151112233"), ("feedback", "")]


def test_the_user_menu_and_openapi_list_the_new_features(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = feldsher
    html = client.get("/patients").get_data(as_text=True)
    for label in ("Направления", "Профиль", "Настройки", "Нужна помощь", "Обследование"):
        assert label in html
    paths = set(client.get("/api/v1/openapi.json").get_json()["paths"])
    assert {
        "/api/v1/referrals",
        "/api/v1/support",
        "/api/v1/files",
        "/api/v1/patients/{patient_id}/exams",
        "/api/v1/exams/{exam_id}/attachments",
        "/api/v1/devices/readings",
        "/api/v1/profile",
    } <= paths
