"""«Записать пациента» and the JSON API make an appeal the same way: one transaction, one set of rules.

Whatever the wizard refuses the API refuses with the same words, storing nothing;
an appeal made through the API carries the exam and its files as the wizard's does.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from typing import Any

import pytest

from domain.models import Appeal, Attachment, Exam
from tests.helpers.data import future_slot, rows
from tests.kiosk import samples

ELDER = "Кузьмин Пётр Васильевич@1"
OTHER = "Сидорова Елена Андреевна@1"


def _exam(client: Any, token: str, patient: str, spo2: int = 97) -> dict[str, Any]:
    """An exam of the patient, with a photo; SpO2 87 % makes its early warning propose urgent care."""
    exam = client.post(
        f"/api/v1/patients/{patient}/exams",
        json={
            "complaints": "Одышка",
            "observations": [{"loinc": "59408-5", "value": spo2, "unit": "%", "device": "CMS50D+"}],
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
    return dict(exam)


def _appeal(data: Any, **extra: str) -> dict[str, str]:
    consultant = data.consultants["ivanova"]
    return {
        "patient": data.patients[ELDER],
        "consultant": consultant,
        "slot": future_slot(consultant).id,
        "kind": "primary",
        "form_of_care": "planned",
        "contact_mode": "video",
        "question": "Нужна ли госпитализация?",
        "consent_by": "patient",
        **extra,
    }


def _no_consent(client: Any, token: str, data: Any) -> dict[str, str]:
    return _appeal(data, consent_by="")


def _taken_slot(client: Any, token: str, data: Any) -> dict[str, str]:
    first = client.post("/api/v1/appeals", json=_appeal(data), headers={"X-CSRF-Token": token})
    assert first.status_code == 201
    return _appeal(data)


def _unknown_consultant(client: Any, token: str, data: Any) -> dict[str, str]:
    return _appeal(data, consultant="нет-такого")


def _exam_of_another_patient(client: Any, token: str, data: Any) -> dict[str, str]:
    return _appeal(data, exam=_exam(client, token, data.patients[OTHER])["id"])


def _less_urgent_without_reason(client: Any, token: str, data: Any) -> dict[str, str]:
    return _appeal(data, exam=_exam(client, token, data.patients[ELDER], spo2=87)["id"])


REFUSALS: list[tuple[Callable[[Any, str, Any], dict[str, str]], str]] = [
    (_no_consent, "Без информированного добровольного согласия (ИДС)"),
    (_taken_slot, "Это время уже занято другим обращением"),
    (_unknown_consultant, "Выберите консультанта"),
    (_exam_of_another_patient, "Это обследование другого пациента"),
    (_less_urgent_without_reason, "укажите причину"),
]


@pytest.mark.parametrize(("make", "words"), REFUSALS, ids=[make.__name__.strip("_") for make, _ in REFUSALS])
def test_the_api_refuses_what_the_wizard_refuses_with_the_same_words(feldsher, make, words) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    fields = make(client, token, data)
    before = rows(Appeal), rows(Attachment)

    api = client.post("/api/v1/appeals", json=fields, headers={"X-CSRF-Token": token})
    assert api.status_code == 400, api.get_json()
    message = api.get_json()["message"]
    assert words in message

    review = client.post("/book/details", data=fields | {"csrf_token": token})
    assert review.status_code == 400
    assert message in html.unescape(review.get_data(as_text=True))

    created = client.post("/book/create", data=fields | {"csrf_token": token}, follow_redirects=True)
    assert "Обращение создано" not in created.get_data(as_text=True)
    assert message in html.unescape(created.get_data(as_text=True))
    assert (rows(Appeal), rows(Attachment)) == before


def test_an_appeal_made_through_the_api_carries_the_exam_and_its_photo_as_the_wizards_does(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    exam = _exam(client, token, data.patients[ELDER])

    body = _appeal(data, exam=exam["id"])
    made = client.post("/api/v1/appeals", json=body, headers={"X-CSRF-Token": token})
    assert made.status_code == 201, made.get_json()
    appeal = Appeal.get_by_id(made.get_json()["id"])
    assert Exam.get_by_id(exam["id"]).appeal_id == appeal.id
    shown = client.get(f"/api/v1/appeals/{appeal.id}").get_json()
    assert [a["filename"] for a in shown["attachments"]] == ["отёки.png"]
