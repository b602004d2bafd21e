"""Booking an appeal: the one place that applies the booking rule (`domain.visibility`).

Above the models it checks (appeals, schedule, referrals): the appeal's model knows
nothing of who may be booked to whom, so the models import no rule that imports them back.
Used by the post's wizard and API, by central's «Запись на консультацию», and, for an
appeal a post sends, by the appeal's replication contract (`domain.contracts`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from i18n import N_
from sync.clock import utcnow

from .errors import ValidationError
from .models.appeals import Appeal, AppealKind, ContactMode, FormOfCare
from .models.directory import Specialty, Staff
from .models.patients import Patient
from .models.schedule import Slot
from .visibility import check_age_fits, check_may_book

__all__ = ["book_appeal", "check_booked_by_post"]


def book_appeal(
    *,
    patient: Patient,
    author: Staff,
    specialty: Specialty,
    consultant: Staff | None,
    slot: Slot | None,
    form_of_care: str,
    question: str,
    kind: str = AppealKind.PRIMARY,
    contact_mode: str = ContactMode.VIDEO,
    anamnesis: str = "",
    complaints: str = "",
    exam_data: str = "",
    consent_by: str = "",
    consent_name: str = "",
    consent_at: datetime | None = None,
    proposed_form: str = "",
    form_reason: str = "",
    now: datetime | None = None,
) -> Appeal:
    """Create an appeal, refusing a slot that is past, inactive or already taken, an
    appeal without the ИДС, and a specialty for another age."""
    now = now or utcnow()
    consent_by, consent_name, consent_at = Appeal.check_consent(
        patient, consent_by, consent_name, consent_at or now, now
    )
    with Appeal._meta.database.atomic():
        if slot is not None:
            slot = Slot.get_by_id(slot.id)  # re-read inside the transaction
            if slot.deleted or not slot.active:
                raise ValidationError(
                    N_("Этот слот больше не доступен: выберите другое время"), field="slot"
                )
            if slot.is_past(now):
                raise ValidationError(N_("Время этого слота уже прошло: выберите другое"), field="slot")
            if Appeal.slot_taken(slot.id):
                raise ValidationError(
                    N_("Это время уже занято другим обращением: выберите другой слот"),
                    field="slot",
                )
            if consultant is None:
                consultant = slot.consultant
            elif slot.consultant_id != consultant.id:
                raise ValidationError(N_("Слот принадлежит другому консультанту"), field="slot")
        elif form_of_care == FormOfCare.PLANNED:
            raise ValidationError(
                N_("Для плановой консультации выберите дату и время приёма"), field="slot"
            )
        if consultant is not None and consultant.specialty_id != specialty.id:
            raise ValidationError(
                N_("Консультант не ведёт приём по этой специальности"), field="consultant"
            )
        check_age_fits(specialty, patient)
        if consultant is not None:
            check_may_book(consultant, patient, now.date())
        if form_of_care not in FormOfCare.ALL:
            raise ValidationError(N_("Выберите форму оказания помощи"), field="form_of_care")
        return Appeal.create(
            patient=patient,
            post=patient.organization_id,
            author=author,
            specialty=specialty,
            consultant=consultant,
            slot=slot,
            kind=kind,
            form_of_care=form_of_care,
            contact_mode=contact_mode,
            question=(question or "").strip(),
            anamnesis=anamnesis.strip(),
            complaints=complaints.strip(),
            exam_data=exam_data.strip(),
            consent_by=consent_by,
            consent_name=consent_name,
            consent_at=consent_at,
            proposed_form=proposed_form or "",
            form_reason=(form_reason or "").strip(),
            created_at=now,
            due_at=Appeal.compute_due_at(now, form_of_care, slot),
        )


def check_booked_by_post(incoming: dict[str, Any]) -> None:
    """A new appeal from a post: its consultant (named or the slot's) must accept the
    patient, and the patient's age must fit the specialty."""
    patient = Patient.get_or_none(Patient.id == incoming.get("patient"))
    specialty = Specialty.get_or_none(Specialty.id == incoming.get("specialty"))
    if patient is not None:
        check_age_fits(specialty, patient)

    consultant_id = incoming.get("consultant")
    if not consultant_id and incoming.get("slot"):
        slot = Slot.get_or_none(Slot.id == incoming["slot"])
        consultant_id = slot.consultant_id if slot is not None else None
    consultant = Staff.get_or_none(Staff.id == consultant_id) if consultant_id else None
    patient = Patient.get_or_none(Patient.id == incoming.get("patient"))
    if consultant is None or patient is None:
        return  # a missing parent: the record is parked until it arrives
    created = incoming.get("created_at")
    check_may_book(consultant, patient, created.date() if isinstance(created, datetime) else None)
