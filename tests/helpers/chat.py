"""Appeals as they stand at central or at a post, for the chat and queue tests."""

from __future__ import annotations

from datetime import timedelta

from domain.booking import book_appeal
from domain.models import Appeal, AppealStatus, Patient, Slot, Specialty, Staff
from sync.clock import utcnow

#: A harmless PNG (1×1 pixel) and a text file, as a post or a consultant would attach them.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
ECG_TXT = "ЭКГ: ритм синусовый, ЧСС 96, признаки ГЛЖ".encode()


def feldsher(data, post: int = 0) -> Staff:  # type: ignore[no-untyped-def]
    return Staff.get(Staff.organization == data.posts[post][0])


def appeal_to(
    data,
    consultant: str = "ivanova",
    *,
    minutes_ahead: int = 5,
    patient: str = "Кузьмин Пётр Васильевич@1",
    form: str = "planned",
) -> Appeal:  # type: ignore[no-untyped-def]
    """An appeal from post 1 addressed to `consultant`, for a slot `minutes_ahead` from now."""
    doctor = Staff.get_by_id(data.consultants[consultant])
    starts = utcnow() + timedelta(minutes=minutes_ahead)
    slot = Slot.create(consultant=doctor, starts_at=starts, ends_at=starts + timedelta(minutes=30))
    post = 0 if patient.endswith("@1") else 1
    return book_appeal(
        consent_by="patient",  # the ИДС to the consultation
        patient=Patient.get_by_id(data.patients[patient]),
        author=feldsher(data, post),
        specialty=doctor.specialty,
        consultant=doctor,
        slot=slot,
        form_of_care=form,
        question="Одышка при нагрузке: нужна ли госпитализация?",
    )


def appeal_to_specialty(data, specialty: str = "Кардиология", form: str = "urgent") -> Appeal:  # type: ignore[no-untyped-def]
    """An appeal from post 1 open to every consultant of a specialty (no one named, no slot)."""
    return book_appeal(
        consent_by="patient",  # the ИДС to the consultation
        patient=Patient.get_by_id(data.patients["Кузьмин Пётр Васильевич@1"]),
        author=feldsher(data),
        specialty=Specialty.get(Specialty.name == specialty),
        consultant=None,
        slot=None,
        form_of_care=form,
        question="Боль за грудиной 20 минут назад, прошла после нитроглицерина",
    )


def in_work(data, consultant: str = "ivanova") -> Appeal:  # type: ignore[no-untyped-def]
    appeal = appeal_to(data, consultant)
    appeal.take_in_work(Staff.get_by_id(data.consultants[consultant]))
    assert appeal.status == AppealStatus.IN_WORK
    return appeal
