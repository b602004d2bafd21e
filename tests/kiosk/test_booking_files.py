"""«Записать пациента» with the latest exam's data, red flags and attached results."""

from __future__ import annotations

import html
import io
import json
import re

from domain.models import Appeal, Attachment, Exam
from node.exams.routes import appeal_files
from tests.helpers.data import future_slot, rows
from tests.kiosk import samples


def _fields(data, patient, **extra):  # type: ignore[no-untyped-def]
    consultant = data.consultants["ivanova"]
    slot = future_slot(consultant)
    return {
        "patient": patient,
        "consultant": consultant,
        "slot": slot.id,
        "kind": "primary",
        "form_of_care": "planned",
        "contact_mode": "video",
        "question": "Нужна ли госпитализация?",
        "consent_by": "patient",  # the ИДС to the consultation
        **extra,
    }


def test_the_wizard_takes_the_exam_and_the_files_into_the_appeal(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    patient = data.patients["Кузьмин Пётр Васильевич@1"]
    exam = client.post(
        f"/api/v1/patients/{patient}/exams",
        json={
            "complaints": "Одышка",
            "objective_status": "Отёки голеней",
            "observations": [
                {"loinc": "59408-5", "value": 87, "unit": "%", "device": "CMS50D+"},
                {"loinc": "8480-6", "value": 150, "unit": "mm[Hg]"},
                {"loinc": "8462-4", "value": 90, "unit": "mm[Hg]"},
            ],
        },
        headers={"X-CSRF-Token": token},
    ).get_json()
    photo = client.post(
        f"/api/v1/exams/{exam['id']}/attachments",
        data={"file": (io.BytesIO(samples.png()), "отёки.png"), "kind": "photo"},
        headers={"X-CSRF-Token": token},
        content_type="multipart/form-data",
    )
    assert photo.status_code == 201

    fields = _fields(data, patient)
    slot_page = client.get(
        "/book/slot", query_string={"patient": patient, "consultant": fields["consultant"]}
    )
    assert "Опасные значения показателей" in slot_page.get_data(as_text=True)

    first = client.get(
        "/book/details", query_string={k: fields[k] for k in ("patient", "consultant", "slot")}
    )
    text = first.get_data(as_text=True)
    assert "Прикрепите результаты инструментальных и лабораторных исследований" in text
    assert "SpO2: 87 % — 3 балла NEWS2" in text
    assert '<option value="urgent" selected>' in text  # the proposed form of care
    assert "АД 150/90 мм рт. ст.; SpO2 87 % (CMS50D+)" in text and "Отёки голеней" in text
    assert f'name="exam" value="{exam["id"]}"' in text

    staged = client.post(
        "/api/v1/files",
        data={"file": (io.BytesIO(samples.pdf()), "ЭКГ.pdf")},
        headers={"X-CSRF-Token": token},
        content_type="multipart/form-data",
    ).get_json()
    details = fields | {
        "form_of_care": "urgent",
        "exam": exam["id"],
        "complaints": "Одышка",
        "exam_data": "АД 150/90, SpO2 87 %",
        "files": json.dumps([staged]),
        "csrf_token": token,
    }
    # A file sent with the form itself (no scripts) joins the staged one.
    review = client.post(
        "/book/details",
        data=details | {"upload": (io.BytesIO(samples.txt()), "УЗИ.txt")},
        content_type="multipart/form-data",
    )
    page = review.get_data(as_text=True)
    assert review.status_code == 200, page
    assert "Информация верна, создать обращение" in page
    assert "ЭКГ.pdf" in page and "УЗИ.txt" in page and "отёки.png" in page
    assert rows(Appeal) == 0 and rows(Attachment) == 1  # the review stores nothing

    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page))
    files_field = html.unescape(hidden["files"])
    created = client.post(
        "/book/create", data=details | {"files": files_field, "csrf_token": token}, follow_redirects=True
    )
    assert "Обращение создано" in created.get_data(as_text=True)
    appeal = Appeal.get()
    names = sorted(a.filename for a in Attachment.select().where(Attachment.appeal == appeal.id))
    assert names == sorted(["ЭКГ.pdf", "УЗИ.txt", "отёки.png"])
    assert Exam.get_by_id(exam["id"]).appeal_id == appeal.id
    assert sorted(a.filename for a in appeal_files(appeal)) == names  # what the appeal page lists


def test_a_fake_file_in_the_wizard_is_refused_and_nothing_is_stored(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    fields = _fields(data, data.patients["Кузьмин Пётр Васильевич@1"]) | {"csrf_token": token}
    response = client.post(
        "/book/details",
        data=fields | {"upload": (io.BytesIO(samples.png()), "анализ.docx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "на самом деле PNG" in response.get_data(as_text=True)
    forged = json.dumps([{"sha256": "0" * 64, "filename": "ЭКГ.pdf", "kind": "file"}])
    created = client.post("/book/create", data=fields | {"files": forged}, follow_redirects=True)
    assert "Файл «ЭКГ.pdf» не найден: прикрепите его снова" in created.get_data(as_text=True)
    assert rows(Appeal) == 0 and rows(Attachment) == 0


def test_a_slot_taken_meanwhile_sends_the_feldsher_back_to_the_times(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    patient = data.patients["Кузьмин Пётр Васильевич@1"]
    staged = client.post(
        "/api/v1/files",
        data={"file": (io.BytesIO(samples.pdf()), "ЭКГ.pdf")},
        headers={"X-CSRF-Token": token},
        content_type="multipart/form-data",
    ).get_json()
    fields = _fields(data, patient, files=json.dumps([staged])) | {"csrf_token": token}
    review = client.post("/book/details", data=fields)
    assert "Информация верна, создать обращение" in review.get_data(as_text=True)
    # Another appeal takes the slot while the review is on screen.
    other = _fields(data, data.patients["Сидорова Елена Андреевна@1"])
    assert client.post("/api/v1/appeals", json=other, headers={"X-CSRF-Token": token}).status_code == 201
    created = client.post("/book/create", data=fields, follow_redirects=True)
    text = created.get_data(as_text=True)
    assert "Это время уже занято другим обращением: выберите другой слот" in text
    assert "Изменить дату и время" in text
    assert 'name="question" value="Нужна ли госпитализация?"' in text  # what was typed is carried
    assert rows(Appeal) == 1 and rows(Attachment) == 0
