"""A post's exams and files as they arrive at central by sync, for the appeal page's tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.models import Appeal, Attachment, AttachmentKind, Exam, Observation, Staff
from sync.clock import utcnow
from tests.kiosk import samples

#: Systolic, diastolic, pulse, SpO2 of the exam sent with the appeal.
SENT_VITALS = {"8480-6": 182.0, "8462-4": 104.0, "8867-4": 88.0, "59408-5": 95.0}

_OFFICE = "application/vnd.openxmlformats-officedocument"
FILES: dict[str, tuple[bytes, str]] = {
    "анализ.docx": (samples.docx(), f"{_OFFICE}.wordprocessingml.document"),
    "глюкоза.xlsx": (samples.xlsx(), f"{_OFFICE}.spreadsheetml.sheet"),
    "УЗИ.txt": (samples.txt(), "text/plain; charset=utf-8"),
    "ЭКГ.pdf": (samples.pdf(), "application/pdf"),
    "снимок.png": (samples.png(), "image/png"),
}


def exam(appeal: Appeal, ago: timedelta, vitals: dict[str, float], *, sent: bool, **text: str) -> Exam:
    """An exam of the appeal's patient by its feldsher, taken `ago`, sent with the appeal or not."""
    author = Staff.get_by_id(appeal.author_id)
    taken = utcnow() - ago
    exam = Exam.create(
        patient=appeal.patient_id,
        post=author.organization_id,
        author=author,
        appeal=appeal if sent else None,
        taken_at=taken,
        **text,
    )
    units = {"8480-6": "mm[Hg]", "8462-4": "mm[Hg]", "8867-4": "/min", "59408-5": "%"}
    for code, value in vitals.items():
        Observation.create(exam=exam, loinc=code, value=value, unit=units[code], taken_at=taken)
    return exam


def post_exams(appeal: Appeal) -> tuple[Exam, Exam]:
    """An exam a month ago and the one sent with `appeal`, as the post filed them."""
    older = exam(
        appeal,
        timedelta(days=30),
        {"8480-6": 150.0, "8462-4": 92.0, "8867-4": 76.0},
        sent=False,
        complaints="Плановый осмотр",
    )
    sent = exam(
        appeal,
        timedelta(minutes=30),
        SENT_VITALS,
        sent=True,
        complaints="Головная боль, мушки перед глазами",
        objective_status="Состояние средней тяжести",
    )
    return older, sent


def attach_files(app: Any, appeal: Appeal, names: tuple[str, ...] = tuple(FILES)) -> dict[str, Attachment]:
    """The post's files of `appeal`, with their bytes already in central's blob store."""
    blobs = app.extensions["blobs"]
    out = {}
    for name in names:
        data, content_type = FILES[name]
        out[name] = Attachment.create(
            appeal=appeal,
            kind=AttachmentKind.FILE,
            filename=name,
            content_type=content_type,
            size=len(data),
            sha256=blobs.put(data),
            uploaded_by=appeal.author_id,
        )
    return out
