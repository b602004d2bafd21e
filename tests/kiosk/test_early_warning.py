"""Early warning at the post: ACVPU and oxygen on the exam, NEWS2 for adults, age ranges for
children, and the form of care it proposes when booking (a less urgent one needs a reason)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from domain.models import Appeal, Exam, Observation, Patient
from tests.helpers.data import future_slot, rows
from web.vitals import PULSE, RESPIRATION, SPO2, SYSTOLIC, TEMPERATURE

ADULT = "Кузьмин Пётр Васильевич@1"
SEPTIC = {RESPIRATION: "25", SPO2: "91", SYSTOLIC: "95", PULSE: "125", TEMPERATURE: "39,2"}


def _exam_page(client, token, patient, values, **fields):  # type: ignore[no-untyped-def]
    form = (
        {"csrf_token": token, "complaints": "Озноб"} | {f"value_{k}": v for k, v in values.items()} | fields
    )
    response = client.post(f"/patients/{patient}/exams/new", data=form, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    return html


def _news2_rows(html: str) -> dict[str, tuple[str, str]]:
    table = html[html.index('class="vitals-table news2"') :].split("</table>", 1)[0]
    cells = re.findall(r"<tr[^>]*><td>([^<]+)</td><td>([^<]+)</td>\s*<td>([^<]+)</td></tr>", table)
    return {name: (value, points) for name, value, points in cells}


def test_the_exam_form_records_acvpu_and_oxygen_and_shows_news2_with_its_parts(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    patient = data.patients[ADULT]
    form = client.get(f"/patients/{patient}/exams/new").get_data(as_text=True)
    assert '<option value="C" >C — впервые возникшая спутанность</option>' in form
    assert 'name="on_oxygen" value="yes"' in form and "на кислороде" in form
    html = _exam_page(client, token, patient, SEPTIC, consciousness="A", on_oxygen="no")
    assert "<strong>NEWS2: 12</strong>" in html and "высокий риск" in html
    assert "неполная оценка" not in html
    assert _news2_rows(html) == {
        "Частота дыхания": ("25 в мин", "3"),
        "SpO2": ("91 %", "3"),
        "Кислород": ("дышит воздухом", "0"),
        "Систолическое АД": ("95 мм рт. ст.", "2"),
        "Пульс": ("125 в мин", "2"),
        "Сознание": ("A — ясное", "0"),
        "Температура тела": ("39,2 °C", "2"),
    }
    assert "Рассмотрите повышение формы оказания помощи: экстренная" in html
    assert "Предлагаемая форма оказания помощи: экстренная" in html
    exam = Exam.get()
    assert (exam.consciousness, exam.on_oxygen) == ("A", False)
    api = client.get(f"/api/v1/exams/{exam.id}").get_json()
    assert (api["consciousness"], api["on_oxygen"]) == ("A", False)
    assert api["early_warning"]["news2"]["score"] == 12 and api["early_warning"]["news2"]["complete"]
    assert api["suggested_form_of_care"] == "emergency"


def test_the_api_takes_acvpu_and_oxygen_and_refuses_what_is_not_acvpu(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    patient = data.patients[ADULT]
    url = f"/api/v1/patients/{patient}/exams"
    vitals = [{"loinc": RESPIRATION, "value": 18, "unit": "/min"}]
    for bad, message in (
        ({"consciousness": "X"}, "Сознание отмечается по шкале ACVPU"),
        ({"on_oxygen": "да"}, "Кислород: укажите true, false или null"),
    ):
        refused = client.post(url, json={"observations": vitals} | bad, headers={"X-CSRF-Token": token})
        assert refused.status_code == 400 and message in refused.get_json()["message"]
    assert rows(Exam) == 0 and rows(Observation) == 0
    created = client.post(
        url,
        json={"observations": vitals, "consciousness": "v", "on_oxygen": True},
        headers={"X-CSRF-Token": token},
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["consciousness"], body["on_oxygen"]) == ("V", True)
    news2 = body["early_warning"]["news2"]
    assert news2["score"] == 5 and not news2["complete"]  # voice 3 + oxygen 2; four not measured
    assert body["early_warning"]["missing"] == ["SpO2", "Систолическое АД", "Пульс", "Температура тела"]
    assert body["suggested_form_of_care"] == "urgent"
    assert Exam.get().consciousness == "V" and Exam.get().on_oxygen is True


def _one_year_old(data) -> str:  # type: ignore[no-untyped-def]
    mother = Patient.get_by_id(data.patients["Сидорова Елена Андреевна@1"])
    born = date.today() - timedelta(days=400)  # a year and a month
    child = Patient.create(
        last_name="Сидоров",
        first_name="Иван",
        birth_date=born,
        sex="male",
        organization=mother.organization_id,
        representative=mother,
        representative_relation="mother",
        phone=mother.phone,
    )
    return str(child.id)


def test_a_one_year_old_with_pulse_140_and_systolic_80_raises_no_flag(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    child = _one_year_old(data)
    html = _exam_page(client, token, child, {PULSE: "140", SYSTOLIC: "80", RESPIRATION: "32"})
    assert "Опасные значения показателей" not in html
    assert "сравниваются с нормой для возраста 12–18 мес." in html
    assert "NEWS2:" not in html
    assert "По показателям повышать форму оказания помощи не требуется" in html
    assert "Не измерены: SpO2, Температура тела" in html


def test_a_value_abnormal_for_an_infant_is_flagged_with_the_range_for_the_age(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    child = _one_year_old(data)
    html = _exam_page(client, token, child, {PULSE: "175", SYSTOLIC: "70"})
    assert "Опасные значения показателей" in html
    assert "Пульс 175 в мин — вне нормы для возраста 12–18 мес.: 88–156 в мин" in html
    assert "Систолическое АД 70 мм рт. ст. — ниже 72, нижней границы для возраста" in html
    assert "Рассмотрите повышение формы оказания помощи: экстренная" in html


def _wizard_fields(data, patient, exam_id, **extra):  # type: ignore[no-untyped-def]
    consultant = data.consultants["ivanova"]
    return {
        "patient": patient,
        "consultant": consultant,
        "slot": future_slot(consultant).id,
        "kind": "primary",
        "form_of_care": "planned",
        "contact_mode": "video",
        "question": "Нужна ли госпитализация?",
        "consent_by": "patient",
        "exam": exam_id,
        **extra,
    }


def test_a_less_urgent_form_than_proposed_needs_a_reason_which_is_stored(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    patient = data.patients[ADULT]
    _exam_page(client, token, patient, {RESPIRATION: "32"})  # NEWS2 3 in one parameter: неотложная
    exam = Exam.get()
    fields = _wizard_fields(data, patient, exam.id)
    first = client.get(
        "/book/details", query_string={k: fields[k] for k in ("patient", "consultant", "slot")}
    )
    page = first.get_data(as_text=True)
    assert '<option value="urgent" selected>' in page
    assert "Причина выбора менее срочной формы, чем предложена по показателям (неотложная)" in page

    refused = client.post("/book/details", data=fields | {"csrf_token": token})
    assert refused.status_code == 400
    assert (
        "По показателям предложена форма «неотложная»: чтобы выбрать «плановая», укажите причину"
        in refused.get_data(as_text=True)
    )
    refused = client.post("/book/create", data=fields | {"csrf_token": token}, follow_redirects=True)
    assert "укажите причину" in refused.get_data(as_text=True) and rows(Appeal) == 0

    # A more urgent form than proposed needs no reason.
    more = client.post("/book/details", data=fields | {"form_of_care": "emergency", "csrf_token": token})
    assert more.status_code == 200 and "Информация верна, создать обращение" in more.get_data(as_text=True)

    reason = "Одышка привычная, ЧД 32 давно: пациент на учёте с ХОБЛ"
    review = client.post("/book/details", data=fields | {"form_reason": reason, "csrf_token": token})
    assert review.status_code == 200 and reason in review.get_data(as_text=True)
    created = client.post(
        "/book/create", data=fields | {"form_reason": reason, "csrf_token": token}, follow_redirects=True
    )
    shown = created.get_data(as_text=True)
    assert "Обращение создано" in shown
    assert "по показателям предложена: неотложная" in shown and reason in shown  # the post's appeal page
    appeal = Appeal.get()
    assert (appeal.form_of_care, appeal.proposed_form, appeal.form_reason) == ("planned", "urgent", reason)
    assert Exam.get_by_id(exam.id).appeal_id == appeal.id


def test_the_api_stores_the_proposed_form_and_refuses_a_less_urgent_one_without_reason(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    patient = data.patients[ADULT]
    exam = client.post(
        f"/api/v1/patients/{patient}/exams",
        json={
            "observations": [
                {"loinc": k, "value": float(v.replace(",", ".")), "unit": u}
                for k, v, u in (
                    (RESPIRATION, SEPTIC[RESPIRATION], "/min"),
                    (SPO2, SEPTIC[SPO2], "%"),
                    (SYSTOLIC, SEPTIC[SYSTOLIC], "mm[Hg]"),
                    (PULSE, SEPTIC[PULSE], "/min"),
                    (TEMPERATURE, SEPTIC[TEMPERATURE], "Cel"),
                )
            ],
            "consciousness": "A",
            "on_oxygen": False,
        },
        headers={"X-CSRF-Token": token},
    ).get_json()
    body = _wizard_fields(data, patient, exam["id"], form_of_care="urgent")
    refused = client.post("/api/v1/appeals", json=body, headers={"X-CSRF-Token": token})
    assert refused.status_code == 400 and refused.get_json()["field"] == "form_reason"
    assert "предложена форма «экстренная»" in refused.get_json()["message"] and rows(Appeal) == 0
    created = client.post(
        "/api/v1/appeals",
        json=body | {"form_reason": "Родственники везут в ЦРБ сами"},
        headers={"X-CSRF-Token": token},
    )
    assert created.status_code == 201, created.get_json()
    appeal = created.get_json()
    assert (appeal["form_of_care"], appeal["proposed_form_of_care"]) == ("urgent", "emergency")
    assert appeal["form_reason"] == "Родственники везут в ЦРБ сами"
    assert Exam.get_by_id(exam["id"]).appeal_id == appeal["id"]
