"""A consultant books a patient into a doctor's free slot: one booking, checked, then stored at once.

Two pages book: «Маршрутизация» → «Запись на консультацию» (the patient of an appeal in
work or closed; a repeat consultation by the appeal's contact mode) and the consultant's
«Записать пациента» wizard (a patient found by phone, СНИЛС or полис ОМС; the kind and
the contact mode chosen). Both read the form with :func:`read_booking`, show the draft for
«Информация верна, создать обращение», and store it with :func:`book`: the new appeal and
the files the consultant attached, in one transaction. The new appeal belongs to the
patient's post and reaches it with its next pull, files included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.booking import book_appeal
from domain.errors import ValidationError
from domain.models import Appeal, AppealKind, ContactMode, FormOfCare, Patient, Slot, Staff
from domain.visibility import bookable, check_may_book
from i18n import N_
from sync.clock import utcnow
from sync.db import database
from web.i18n import from_local

from . import files
from .files import StagedFile
from .service import free_slots, region_doctors

__all__ = ["BookingDraft", "bookable_doctors", "read_booking", "book"]

_TEXT_LIMIT = 4000


@dataclass(frozen=True)
class BookingDraft:
    """A checked booking, shown for «Информация верна, создать обращение» before it is stored."""

    patient: Patient
    consultant: Staff
    slot: Slot
    question: str
    #: The ИДС to the new consultation: who gave it, the representative's name, when.
    consent_by: str
    consent_name: str
    consent_at: datetime
    kind: str = AppealKind.REPEAT
    contact_mode: str = ContactMode.VIDEO
    files: tuple[StagedFile, ...] = ()


def bookable_doctors(patient: Patient) -> list[Staff]:
    """The consultants of the patient's region this patient may be booked to."""
    return bookable(region_doctors(patient.organization_id), patient)


def _text(form: Any, name: str) -> str:
    return str(form.get(name, "") or "").strip()[:_TEXT_LIMIT]


def _consent_time(form: Any, now: datetime | None) -> datetime:
    """When the ИДС to the new consultation was given: typed in the consultant's zone; now if empty."""
    raw = _text(form, "consent_at")
    if not raw:
        return now or utcnow()
    try:
        return from_local(raw)
    except ValueError:
        raise ValidationError(
            N_("Укажите время получения ИДС в формате ДД.ММ.ГГГГ ЧЧ:ММ"), field="consent_at"
        ) from None


def read_booking(
    patient: Patient,
    form: Any,
    *,
    kind: str = AppealKind.REPEAT,
    contact_mode: str = ContactMode.VIDEO,
    attached: Sequence[StagedFile] = (),
    now: datetime | None = None,
) -> BookingDraft:
    """The booking the form describes, or a clear refusal; nothing is stored."""
    consultant = next(
        (d for d in region_doctors(patient.organization_id) if d.id == _text(form, "consultant")), None
    )
    if consultant is None:
        raise ValidationError(N_("Выберите врача из списка"), field="consultant")
    check_may_book(consultant, patient)
    slot_id = _text(form, "slot")
    slot = next((s for s in free_slots(consultant.id, now) if s.id == slot_id), None) if slot_id else None
    if slot is None:
        raise ValidationError(
            N_("Выберите свободные дату и время приёма («Изменить дату и время»)"), field="slot"
        )
    if kind not in AppealKind.ALL:
        raise ValidationError(N_("Выберите тип консультации"), field="kind")
    if contact_mode not in ContactMode.ALL:
        raise ValidationError(N_("Выберите вид связи"), field="contact_mode")
    question = _text(form, "question")
    if not question:
        raise ValidationError(N_("Заполните текст обращения"), field="question")
    consent_by, consent_name, consent_at = Appeal.check_consent(
        patient, _text(form, "consent_by"), _text(form, "consent_name"), _consent_time(form, now), now
    )
    return BookingDraft(
        patient,
        consultant,
        slot,
        question,
        consent_by,
        consent_name,
        consent_at,
        kind,
        contact_mode,
        tuple(attached),
    )


def book(staff: Staff, draft: BookingDraft, now: datetime | None = None) -> Appeal:
    """«Информация верна, создать обращение»: the new appeal and its files, all or nothing.

    The appeal's own rules run again inside the transaction (the slot may have been taken
    since the review); a refusal leaves neither the appeal nor any of its files.
    """
    if draft.consultant.specialty is None:
        raise ValidationError(N_("У консультанта не указана специальность"), field="consultant")
    with database.atomic():
        appeal = book_appeal(
            patient=draft.patient,
            author=staff,
            specialty=draft.consultant.specialty,
            consultant=draft.consultant,
            slot=draft.slot,
            form_of_care=FormOfCare.PLANNED,
            kind=draft.kind,
            contact_mode=draft.contact_mode,
            question=draft.question,
            consent_by=draft.consent_by,
            consent_name=draft.consent_name,
            consent_at=draft.consent_at,
            now=now,
        )
        files.attach(appeal, staff, draft.files)
    return appeal
