"""«Обследование»: vitals by hand or from a device, units, red flags, the chart; bad input stores nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.models import Exam, Observation
from hardware import Reading
from node.exams.devices import DeviceFeed
from node.exams.vitals import to_ucum
from tests.helpers.data import rows
from web.vitals import GLUCOSE, GLUCOSE_MASS, PULSE, SPO2, SYSTOLIC, TEMPERATURE, WEIGHT


def test_units_convert_to_what_the_model_stores() -> None:
    assert to_ucum(GLUCOSE_MASS, 180.16, "mg/dL") == (GLUCOSE, 10.0, "mmol/L")
    assert to_ucum(GLUCOSE, 90.08, "mg/dL") == (GLUCOSE, 5.0, "mmol/L")
    assert to_ucum(WEIGHT, 154.3, "[lb_av]") == (WEIGHT, 69.99, "kg")
    assert to_ucum(TEMPERATURE, 102.2, "[degF]") == (TEMPERATURE, 39.0, "Cel")
    assert to_ucum(SPO2, 97, "%") == (SPO2, 97.0, "%")


def test_a_feldsher_records_an_exam_by_hand_and_sees_red_flags(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    patient = data.patients["Кузьмин Пётр Васильевич@1"]
    form = client.get(f"/patients/{patient}/exams/new").get_data(as_text=True)
    assert "Обследование" in form and "Взять показание" in form and "мм рт. ст." in form
    response = client.post(
        f"/patients/{patient}/exams/new",
        data={
            "csrf_token": token,
            "complaints": "Одышка при ходьбе",
            "objective_status": "Отёки голеней",
            f"value_{SYSTOLIC}": "185",
            "value_8462-4": "100",
            f"value_{PULSE}": "96",
            f"value_{SPO2}": "88",
            f"value_{GLUCOSE}": "126",
            f"unit_{GLUCOSE}": "mg/dL",
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Обследование сохранено" in html
    assert "Опасные значения показателей" in html
    # NEWS2 scores SpO2 88 % 3 points; systolic 185 is a hypertensive crisis NEWS2 does not score.
    assert "SpO2: 88 % — 3 балла NEWS2" in html and "Систолическое АД 185 мм рт. ст. — 180 и выше" in html
    assert "Рассмотрите повышение формы оказания помощи: неотложная" in html
    assert "<strong>NEWS2: 4</strong>" in html and "неполная оценка" in html
    assert "Не указаны: Частота дыхания, Кислород, Сознание, Температура тела." in html
    assert 'class="vital-chart"' in html  # «Динамика показателей»
    exam = Exam.get()
    values = {o.loinc: (o.value, o.unit, o.manual) for o in Observation.select()}
    assert values[GLUCOSE] == (7.0, "mmol/L", True)
    assert values[SPO2] == (88.0, "%", True)
    assert exam.complaints == "Одышка при ходьбе" and exam.origin == "test-post-1"


def test_a_value_out_of_range_or_not_a_number_stores_nothing(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    patient = data.patients["Кузьмин Пётр Васильевич@1"]
    url = f"/patients/{patient}/exams/new"
    cases = [
        ({f"value_{SPO2}": "97", f"value_{PULSE}": "350"}, "Пульс: значение 350.0 вне возможного диапазона"),
        ({f"value_{TEMPERATURE}": "36,6а"}, "Температура тела: «36,6а» — не число"),
        ({}, "Заполните жалобы, объективный статус или хотя бы один показатель"),
        ({f"value_{SPO2}": "97", "taken_at": "2099-01-01T10:00"}, "Время осмотра не может быть в будущем"),
    ]
    for fields, message in cases:
        response = client.post(url, data={"csrf_token": token, **fields})
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert message in html, message
    assert rows(Exam) == 0 and rows(Observation) == 0
    api = client.post(
        f"/api/v1/patients/{patient}/exams",
        json={
            "observations": [
                {"loinc": SPO2, "value": 97, "unit": "%"},
                {"loinc": PULSE, "value": 80, "unit": "kg"},
            ]
        },
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 400 and "Пульс измеряется в в мин" in api.get_json()["message"]
    assert rows(Exam) == 0 and rows(Observation) == 0


def test_the_api_records_an_exam_and_lists_it_with_red_flags(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    patient = data.patients["Сидорова Мария Игоревна@1"]  # 11 years old: the children's ranges
    created = client.post(
        f"/api/v1/patients/{patient}/exams",
        json={
            "complaints": "Температура",
            "observations": [
                {"loinc": TEMPERATURE, "value": 39.4, "unit": "Cel"},
                {"loinc": PULSE, "value": 130, "unit": "/min"},
                {"loinc": WEIGHT, "value": 28500, "unit": "g"},
            ],
        },
        headers={"X-CSRF-Token": token},
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["suggested_form_of_care"] == "urgent"
    # Fever at 11 is no red flag by itself; a pulse of 130 is above the 99th centile for 8–12.
    assert [(f["loinc"], f["message"]) for f in body["red_flags"]] == [
        (PULSE, "Пульс 130 в мин — вне нормы для возраста 8–12 лет: 52–115 в мин")
    ]
    warning = body["early_warning"]
    assert warning["scale"] == "paediatric" and warning["news2"] is None and warning["age_band"] == "8–12 лет"
    assert warning["missing"] == ["Частота дыхания", "SpO2", "Систолическое АД"]
    assert {o["loinc"]: o["value"] for o in body["observations"]}[WEIGHT] == 28.5
    listed = client.get(f"/api/v1/patients/{patient}/exams").get_json()["exams"]
    assert [e["id"] for e in listed] == [body["id"]]


def test_a_device_reading_is_taken_into_the_exam_with_one_button(feldsher, node_app) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    app, _ = node_app
    feed: DeviceFeed = app.extensions["device_feed"]
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    feed.on_event(Reading(SPO2, 93, "%", "CMS50D+", "SN-042", "/dev/ttyUSB0", now))
    feed.on_event(Reading(GLUCOSE_MASS, 252, "mg/dL", "Accu-Chek", "G-7", "/dev/ttyUSB1", now))
    readings = {r["loinc"]: r for r in client.get("/api/v1/devices/readings").get_json()["readings"]}
    assert readings[GLUCOSE]["value"] == 14.0 and readings[GLUCOSE]["unit"] == "mmol/L"
    patient = data.patients["Кузьмин Пётр Васильевич@1"]
    url = f"/patients/{patient}/exams/new"
    page = client.get(url).get_data(as_text=True)
    assert "93 % · CMS50D+" in page
    # Without scripts, «Взять показание» puts the value in the form (nothing stored yet) ...
    taken = client.post(url, data={"csrf_token": token, "take": SPO2}).get_data(as_text=True)
    assert f'name="value_{SPO2}" inputmode="decimal" value="93"' in taken
    assert f'name="device_{SPO2}" value="CMS50D+"' in taken
    assert rows(Exam) == 0
    # ... and saving files it with the device, its serial and the time it measured.
    form = {
        "csrf_token": token,
        f"value_{SPO2}": "93",
        f"unit_{SPO2}": "%",
        f"device_{SPO2}": "CMS50D+",
        f"serial_{SPO2}": "SN-042",
        f"at_{SPO2}": now.isoformat(),
        f"value_{PULSE}": "72",
    }
    assert client.post(url, data=form).status_code == 302
    spo2 = Observation.get(Observation.loinc == SPO2)
    assert (spo2.manual, spo2.device, spo2.device_serial) == (False, "CMS50D+", "SN-042")
    assert spo2.taken_at == now.replace(tzinfo=None)
    assert Observation.get(Observation.loinc == PULSE).manual is True


def test_no_fresh_reading_gives_a_clear_message(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    patient = data.patients["Кузьмин Пётр Васильевич@1"]
    response = client.post(f"/patients/{patient}/exams/new", data={"csrf_token": token, "take": SPO2})
    assert response.status_code == 400
    assert "Нет свежего показания с прибора" in response.get_data(as_text=True)
