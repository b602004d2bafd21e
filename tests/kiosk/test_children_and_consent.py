"""«Новый пациент» with a legal representative, and the ИДС in «Записать пациента», at the post.

A five-year-old is registered only with a representative (an adult patient of the
post found by phone, or a name, relation and document); an appeal is sent only with
the ИДС; a 78-year-old is never offered Pediatrics.
"""

from __future__ import annotations

import html as htmllib
import io
import re
from datetime import date

from domain.models import Appeal, Attachment, AttachmentKind, Patient
from domain.models.directory import today_at
from tests.helpers.data import future_slot, rows
from tests.kiosk import samples

ELDER = "Кузьмин Пётр Васильевич@1"
MOTHER = "Сидорова Елена Андреевна@1"
MOTHER_PHONE = "+79121004567"


def _five_years_old(data) -> str:  # type: ignore[no-untyped-def]
    today = today_at(data.posts[0][0])
    return date(today.year - 5, 1, 15).isoformat()


def _new_child(data, token: str, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "csrf_token": token,
        "last_name": "Сидоров",
        "first_name": "Ваня",
        "birth_date": _five_years_old(data),
        "sex": "male",
        "phone": MOTHER_PHONE,
        **extra,
    }


def test_a_five_year_old_is_registered_only_with_a_representative(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    before = rows(Patient)
    page = client.get("/patients/new").get_data(as_text=True)
    assert "Законный представитель" in page and "Кем приходится пациенту" in page
    for relation in ("мать", "отец", "опекун", "попечитель", "усыновитель", "иной законный представитель"):
        assert relation in page

    refused = client.post("/patients/new", data=_new_child(data, token))
    assert refused.status_code == 400
    assert "Пациенту нет 15 лет: укажите законного представителя" in refused.get_data(as_text=True)
    assert Patient.select().where(Patient.first_name == "Ваня").count() == 0

    # «Найти представителя»: the mother is found by her phone; the form keeps what was typed.
    found = client.post(
        "/patients/new",
        data=_new_child(data, token, representative_query=MOTHER_PHONE, find_representative="1"),
    )
    html = found.get_data(as_text=True)
    assert found.status_code == 200 and "Сидорова Елена Андреевна" in html
    assert "Сидорова Мария Игоревна" not in html  # a child is never offered as a representative
    assert 'name="first_name" required value="Ваня"' in html
    assert rows(Patient) == before  # a search stores nothing

    mother = data.patients[MOTHER]
    created = client.post(
        "/patients/new",
        data=_new_child(data, token, representative=mother, representative_relation="mother"),
        follow_redirects=True,
    )
    assert created.status_code == 200
    child = Patient.get(Patient.first_name == "Ваня")
    assert (child.representative_id, child.representative_relation) == (mother, "mother")
    card = client.get(f"/patients/{child.id}").get_data(as_text=True)
    assert "Сидорова Елена Андреевна" in card and "(мать)" in card


def test_a_representative_who_is_not_a_patient_of_the_post(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    no_document = _new_child(
        data, token, representative_name="Сидоров Игорь Павлович", representative_relation="father"
    )
    refused = client.post("/patients/new", data=no_document)
    assert refused.status_code == 400 and "документ, подтверждающий полномочия" in refused.get_data(
        as_text=True
    )
    created = client.post(
        "/api/v1/patients",
        json={
            **{k: v for k, v in no_document.items() if k != "csrf_token"},
            "representative_document": "свидетельство о рождении II-ОН № 123456",
            "representative_phone": "8 912 000-11-22",
        },
        headers={"X-CSRF-Token": token},
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["representative_name"], body["representative_relation"]) == (
        "Сидоров Игорь Павлович",
        "father",
    )
    assert Patient.get_by_id(body["id"]).representative_phone == "+79120001122"


def test_a_minor_cannot_be_the_representative(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    sister = data.patients["Сидорова Мария Игоревна@1"]  # born 2015
    refused = client.post(
        "/api/v1/patients",
        json={k: v for k, v in _new_child(data, token, representative=sister).items() if k != "csrf_token"}
        | {"representative_relation": "guardian"},
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 400
    assert "только совершеннолетний" in refused.get_json()["message"]
    assert Patient.select().where(Patient.first_name == "Ваня").count() == 0


def _booking(data, patient: str, consultant: str = "ivanova", **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    doctor = data.consultants[consultant]
    return {
        "patient": data.patients[patient],
        "consultant": doctor,
        "slot": future_slot(doctor).id,
        "kind": "primary",
        "form_of_care": "planned",
        "contact_mode": "video",
        "question": "Коррекция терапии?",
        **extra,
    }


def test_the_wizard_does_not_send_an_appeal_without_the_consent(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    fields = _booking(data, ELDER) | {"csrf_token": token}
    details = client.get(
        "/book/details", query_string={k: fields[k] for k in ("patient", "consultant", "slot")}
    )
    html = details.get_data(as_text=True)
    assert "Информированное добровольное согласие (ИДС) на телемедицинскую консультацию" in html
    assert "Кузьмин Пётр Васильевич" in html and 'name="consent_at"' in html

    refused = client.post("/book/details", data=fields)
    assert refused.status_code == 400
    assert "Без информированного добровольного согласия" in refused.get_data(as_text=True)
    created = client.post("/book/create", data=fields, follow_redirects=True)
    assert "Без информированного добровольного согласия" in created.get_data(as_text=True)
    assert rows(Appeal) == 0

    with_scan = fields | {
        "consent_by": "patient",
        "consent_upload": (io.BytesIO(samples.png()), "ИДС.png"),
    }
    review = client.post("/book/details", data=with_scan, content_type="multipart/form-data")
    page = review.get_data(as_text=True)
    assert review.status_code == 200 and "ИДС на консультацию" in page and "ИДС.png" in page
    carried = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page))
    scan_field = htmllib.unescape(carried["consent_file"])
    created = client.post(
        "/book/create",
        data=fields | {"consent_by": "patient", "consent_file": scan_field},
        follow_redirects=True,
    )
    assert "Обращение создано" in created.get_data(as_text=True)
    appeal = Appeal.get()
    assert appeal.consent_by == "patient" and appeal.consent_at is not None
    scans = Attachment.select().where(
        (Attachment.appeal == appeal.id) & (Attachment.kind == AttachmentKind.CONSENT)
    )
    assert [a.filename for a in scans] == ["ИДС.png"]


def test_a_child_s_consent_is_given_by_the_representative(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    fields = _booking(data, "Сидоров Артём Игоревич@1", "popov") | {"csrf_token": token}
    details = client.get(
        "/book/details", query_string={k: fields[k] for k in ("patient", "consultant", "slot")}
    )
    html = details.get_data(as_text=True)
    assert "Пациенту нет 15 лет: согласие даёт законный представитель." in html
    assert 'name="consent_by" value="patient"' not in html and 'value="Сидорова Елена Андреевна"' in html
    refused = client.post("/book/create", data=fields | {"consent_by": "patient"}, follow_redirects=True)
    assert "ИДС даёт законный представитель" in refused.get_data(as_text=True)
    created = client.post(
        "/book/create",
        data=fields | {"consent_by": "representative", "consent_name": "Сидорова Елена Андреевна"},
        follow_redirects=True,
    )
    assert "Обращение создано" in created.get_data(as_text=True)
    appeal = Appeal.get()
    assert (appeal.consent_by, appeal.consent_name) == ("representative", "Сидорова Елена Андреевна")
    page = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "дано: законный представитель — Сидорова Елена Андреевна" in page


def test_the_api_refuses_an_appeal_without_the_consent(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    body = _booking(data, ELDER)
    refused = client.post("/api/v1/appeals", json=body, headers={"X-CSRF-Token": token})
    assert refused.status_code == 400 and refused.get_json()["field"] == "consent_by"
    assert "Без информированного добровольного согласия" in refused.get_json()["message"]
    assert rows(Appeal) == 0
    created = client.post(
        "/api/v1/appeals",
        json=body | {"consent_by": "patient", "consent_at": "2026-01-01T10:00:00+03:00"},
        headers={"X-CSRF-Token": token},
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["consent"] == {"by": "patient", "name": "", "at": "2026-01-01T07:00:00Z"}
    scan = client.post(
        f"/api/v1/appeals/{created.get_json()['id']}/attachments",
        data={"file": (io.BytesIO(samples.pdf()), "ИДС.pdf"), "kind": "consent"},
        headers={"X-CSRF-Token": token},
        content_type="multipart/form-data",
    )
    assert scan.status_code == 201 and scan.get_json()["kind"] == "consent"


def test_a_78_year_old_is_not_offered_nor_booked_into_pediatrics(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    elder = data.patients[ELDER]
    doctors = client.get("/book/doctor", query_string={"patient": elder}).get_data(as_text=True)
    assert "Кардиология" in doctors and "Педиатрия" not in doctors and "Попов Дмитрий" not in doctors
    names = [
        s["name"]
        for s in client.get("/api/v1/specialties", query_string={"patient": elder}).get_json()["specialties"]
    ]
    assert "Кардиология" in names and "Педиатрия" not in names
    child_names = [
        s["name"]
        for s in client.get(
            "/api/v1/specialties", query_string={"patient": data.patients["Сидоров Артём Игоревич@1"]}
        ).get_json()["specialties"]
    ]
    assert child_names == ["Педиатрия"]

    slot_page = client.get(
        "/book/slot",
        query_string={"patient": elder, "consultant": data.consultants["popov"]},
        follow_redirects=True,
    )
    assert "«Педиатрия» — для пациентов младше 18 лет" in slot_page.get_data(as_text=True)
    refused = client.post(
        "/api/v1/appeals",
        json=_booking(data, ELDER, "popov", consent_by="patient"),
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 400
    age = Patient.get_by_id(elder).age(today_at(data.posts[0][0]))
    assert age >= 78
    message = refused.get_json()["message"]
    assert f"«Педиатрия» — для пациентов младше 18 лет, а возраст пациента (полных лет): {age}" in message
    assert rows(Appeal) == 0
