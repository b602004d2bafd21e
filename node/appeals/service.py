"""The post's appeal operations over the synced schedules (pages and API share these)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from flask import current_app

from domain.booking import book_appeal
from domain.errors import NotFoundError, ValidationError
from domain.models import (
    Appeal,
    AppealKind,
    Attachment,
    AttachmentKind,
    ContactMode,
    Exam,
    FormOfCare,
    Organization,
    OrgKind,
    Patient,
    Role,
    Slot,
    Specialty,
    Staff,
)
from domain.models.appeal_queries import Queues, free_slots, split_queues
from domain.visibility import bookable, check_may_book, fitting_specialties
from i18n import N_
from sync.db import database
from web.i18n import from_local
from web.uploads import store_file

from ..exams import files
from ..exams.service import exam_warning, post_exam
from ..patients.service import post_patient

__all__ = [
    "Queues",
    "lists",
    "post_appeal",
    "specialties",
    "consultants",
    "chosen_consultant",
    "free_slots",
    "bookable_slots",
    "create_appeal",
    "check_appeal",
    "proposed_form",
    "sent_exam",
    "attach_file",
    "parse_consent_time",
]


def _post() -> str:
    return str(current_app.extensions["identity"].organization_id)


def lists(now: datetime | None = None) -> Queues:
    """This post's appeals in «Новые обращения» («Просроченные» apart), «В работе», «Закрытые»."""
    return split_queues(Appeal.live().where(Appeal.post == _post()).order_by(Appeal.due_at), now)


def post_appeal(appeal_id: str) -> Appeal:
    """An appeal of this post; NotFoundError otherwise."""
    appeal = Appeal.get_or_none(
        (Appeal.id == appeal_id) & (Appeal.post == _post()) & (Appeal.deleted == False)  # noqa: E712
    )
    if appeal is None:
        raise NotFoundError()
    return appeal


def specialties(patient: Patient | None = None) -> list[Specialty]:
    """The centres' specialties; with a patient, only those whose age range the patient fits."""
    found = list(Specialty.live().order_by(Specialty.name))
    return found if patient is None else fitting_specialties(found, patient)


def consultants(
    specialty_id: str | None = None, name: str = "", patient: Patient | None = None
) -> list[Staff]:
    """Consultants of the centres (as synced), filtered by specialty and by name; with a
    patient, only those the patient may be booked to (the consultant's visibility)."""
    query = (
        Staff.live()
        .join(Organization, on=(Staff.organization == Organization.id))
        .where(
            (Staff.role == Role.CONSULTANT)
            & (Staff.active == True)  # noqa: E712
            & (Organization.kind == OrgKind.CENTRE)
        )
        .order_by(Staff.last_name, Staff.first_name)
    )
    if specialty_id:
        query = query.where(Staff.specialty == specialty_id)
    if name.strip():
        query = query.where(Staff.last_name.contains(name.strip()))
    return list(query) if patient is None else bookable(query, patient)


def chosen_consultant(consultant_id: str) -> Staff:
    """The consultant a booking names; refused if there is none by that id."""
    consultant = Staff.get_or_none((Staff.id == consultant_id) & (Staff.role == Role.CONSULTANT))
    if consultant is None:
        raise ValidationError(N_("Выберите консультанта"), field="consultant")
    return consultant


def bookable_slots(
    consultant_id: str, patient: Patient | None = None, now: datetime | None = None
) -> list[Slot]:
    """«Изменить дату и время»: the consultant's free slots; with a patient, refused
    (ValidationError) if the patient may not be booked to this consultant."""
    consultant = Staff.get_or_none(Staff.id == consultant_id)
    if patient is not None and consultant is not None:
        check_may_book(consultant, patient)
    return free_slots(consultant_id, now)


def parse_consent_time(value: Any) -> datetime | None:
    """When the ИДС was given, as typed in the user's zone (datetime-local) or ISO 8601 with
    an offset; stored as naive UTC. Empty: None (the moment the appeal is created)."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return from_local(text)
    except ValueError:
        raise ValidationError(
            N_("Укажите время получения ИДС в формате ДД.ММ.ГГГГ ЧЧ:ММ"), field="consent_at"
        ) from None


def _choice(data: Mapping[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = str(data.get(name) or default)
    if value not in allowed:
        raise ValidationError(N_("Недопустимое значение поля"), field=name)
    return value


def sent_exam(patient: Patient, exam_id: str) -> Exam | None:
    """The exam sent with the appeal (`exam` of the request), which must be the patient's."""
    if not exam_id:
        return None
    exam = post_exam(exam_id)
    if exam.patient_id != patient.id:
        raise ValidationError(N_("Это обследование другого пациента"), field="exam")
    return exam


def proposed_form(exam: Exam | None) -> str:
    """The form of care the exam's early warning proposes ("" when none or no exam)."""
    warning = exam_warning(exam)
    return (warning.proposed if warning else None) or ""


def create_appeal(
    author: Staff,
    data: Mapping[str, Any],
    staged: Sequence[files.StagedFile] = (),
    consent_scans: Sequence[files.StagedFile] = (),
) -> Appeal:
    """«Информация верна, создать обращение»: the appeal, the exam's link and its files, the
    staged files and the photo/scan of the signed ИДС, all or nothing.

    The one way an appeal is made at the post: the wizard and the JSON API both come here.
    """
    patient = post_patient(str(data.get("patient", "")))
    consultant = None
    if data.get("consultant"):
        consultant = chosen_consultant(str(data["consultant"]))
        specialty = consultant.specialty
        if specialty is None:
            raise ValidationError(N_("У консультанта не указана специальность"), field="consultant")
    else:
        # An emergency or urgent appeal may go to a specialty: whoever is on duty takes it.
        specialty = Specialty.get_or_none(Specialty.id == str(data.get("specialty", "")))
        if specialty is None:
            raise ValidationError(N_("Выберите консультанта или специальность"), field="consultant")
    slot = None
    if data.get("slot"):
        slot = Slot.get_or_none(Slot.id == str(data["slot"]))
        if slot is None:
            raise ValidationError(N_("Этот слот больше не доступен: выберите другое время"), field="slot")
    exam = sent_exam(patient, str(data.get("exam") or ""))
    with database.atomic():
        appeal = book_appeal(
            patient=patient,
            author=author,
            specialty=specialty,
            consultant=consultant,
            slot=slot,
            form_of_care=_choice(data, "form_of_care", FormOfCare.ALL, FormOfCare.PLANNED),
            kind=_choice(data, "kind", AppealKind.ALL, AppealKind.PRIMARY),
            contact_mode=_choice(data, "contact_mode", ContactMode.ALL, ContactMode.VIDEO),
            question=str(data.get("question", "")),
            anamnesis=str(data.get("anamnesis", "")),
            complaints=str(data.get("complaints", "")),
            exam_data=str(data.get("exam_data", "")),
            consent_by=str(data.get("consent_by") or ""),
            consent_name=str(data.get("consent_name") or ""),
            consent_at=parse_consent_time(data.get("consent_at")),
            proposed_form=proposed_form(exam),
            form_reason=str(data.get("form_reason") or ""),
        )
        if exam is not None:
            exam.appeal = appeal
            exam.save()
            for attachment in files.exam_attachments(exam):
                # The consultant sees the exam's photos and files with the appeal.
                files.attach(author, files.restage(attachment.__data__), appeal=appeal)
        for item in staged:
            files.attach(author, item, appeal=appeal)
        for item in consent_scans:
            files.attach(author, replace(item, kind=AttachmentKind.CONSENT), appeal=appeal)
    return appeal


def check_appeal(
    author: Staff,
    data: Mapping[str, Any],
    staged: Sequence[files.StagedFile] = (),
    consent_scans: Sequence[files.StagedFile] = (),
) -> None:
    """Check an appeal with exactly the rules :func:`create_appeal` applies, then roll back:
    the refusal it would meet, or nothing stored."""
    with database.atomic() as txn:
        create_appeal(author, data, staged, consent_scans)
        txn.rollback()


def attach_file(
    author: Staff, appeal: Appeal, filename: str, data: bytes, kind: str = AttachmentKind.FILE
) -> Attachment:
    """Store a file with the appeal: checked by content, bytes first, then the record.

    `kind` is a plain file or the photo/scan of the signed ИДС form (`AttachmentKind.CONSENT`).
    """
    if kind not in (AttachmentKind.FILE, AttachmentKind.CONSENT):
        raise ValidationError(N_("Недопустимое значение поля"), field="kind")
    return store_file(appeal, author, filename, data, attachment_kind=kind)
