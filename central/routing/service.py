"""«Маршрутизация» of an appeal in work or closed: a referral, or a booking that opens a new appeal.

Both are replicated rows in the post's scope (the referral's ``post``, the new appeal's
patient's post), so they reach the post with its next pull.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import abort
from flask_babel import gettext as _

from central.appeals import service as appeals
from sync.clock import utcnow
from sync.errors import N_, ValidationError
from sync.models import (
    Appeal,
    AppealKind,
    AppealStatus,
    FormOfCare,
    Organization,
    OrgKind,
    Referral,
    Role,
    Slot,
    Specialty,
    Staff,
)
from sync.models.directory import region_centres
from sync.models.visibility import bookable, check_may_book
from web.i18n import from_local, to_local

__all__ = [
    "routable_appeal",
    "doctors",
    "bookable_doctors",
    "specialties",
    "free_slots",
    "ReferralDraft",
    "read_referral",
    "create_referral",
    "BookingDraft",
    "read_booking",
    "book",
]

BOOKING_DAYS = 14
_TEXT_LIMIT = 4000


def routable_appeal(staff: Staff, appeal_id: str) -> Appeal:
    """An appeal in work or closed that ``staff`` consults on; 404 if unseen, 403 otherwise."""
    appeal = appeals.visible_appeal(staff, appeal_id)
    if appeal.status not in (AppealStatus.IN_WORK, AppealStatus.CLOSED):
        abort(404, description=_("Маршрутизация доступна для обращений в работе и закрытых"))
    if staff.id not in (appeal.consultant_id, appeal.taken_by_id):
        abort(403, description=_("Маршрутизацию выполняет консультант, который ведёт обращение"))
    return appeal


def doctors(appeal: Appeal) -> list[Staff]:
    """Consultants of the centres of the appeal's region: those the post can see and book."""
    return list(
        Staff.live()
        .join(Organization, on=(Staff.organization == Organization.id))
        .where(
            (Staff.role == Role.CONSULTANT)
            & (Staff.active == True)  # noqa: E712
            & (Organization.kind == OrgKind.CENTRE)
            & Staff.organization.in_(region_centres(appeal.post_id))
            & Staff.specialty.is_null(False)
        )
        .order_by(Staff.last_name, Staff.first_name)
    )


def bookable_doctors(appeal: Appeal) -> list[Staff]:
    """«Запись на консультацию»: the region's consultants this patient may be booked to."""
    return bookable(doctors(appeal), appeal.patient)


def specialties(appeal: Appeal) -> list[Specialty]:
    """Specialties that some consultant of the region sees patients in."""
    ids = {doctor.specialty_id for doctor in doctors(appeal)}
    return [s for s in Specialty.live().order_by(Specialty.name) if s.id in ids]


def free_slots(consultant_id: str, now: datetime | None = None, days: int = BOOKING_DAYS) -> list[Slot]:
    """The consultant's active future slots with no live appeal on them."""
    now = now or utcnow()
    taken = Appeal.select(Appeal.slot).where(
        Appeal.slot.is_null(False) & (Appeal.status != AppealStatus.CANCELLED) & (Appeal.deleted == False)  # noqa: E712
    )
    return list(
        Slot.live()
        .where(
            (Slot.consultant == consultant_id)
            & (Slot.active == True)  # noqa: E712
            & (Slot.starts_at > now)
            & (Slot.starts_at < now + timedelta(days=days))
            & Slot.id.not_in(taken)
        )
        .order_by(Slot.starts_at)
    )


def _text(form: Any, name: str) -> str:
    return str(form.get(name, "") or "").strip()[:_TEXT_LIMIT]


def _doctor(appeal: Appeal, doctor_id: str) -> Staff:
    doctor = next((d for d in doctors(appeal) if d.id == doctor_id), None)
    if doctor is None:
        raise ValidationError(N_("Выберите врача из списка"), field="consultant")
    return doctor


# --- «Создание направления» -------------------------------------------------------------


@dataclass(frozen=True)
class ReferralDraft:
    """A checked referral, shown for «Информация верна, создать направление» before it is stored."""

    specialty: Specialty
    consultant: Staff | None
    valid_until: date | None  # None: бессрочно
    diagnoses: str
    justification: str


def _valid_until(form: Any, today: date) -> date | None:
    if form.get("indefinite"):
        return None
    raw = _text(form, "valid_until")
    if not raw:
        raise ValidationError(
            N_("Укажите, до какой даты действует направление, или отметьте «Бессрочно»"), field="valid_until"
        )
    try:
        until = date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(N_("Дата «%(value)s» не распознана"), field="valid_until", value=raw) from None
    if until < today:
        raise ValidationError(
            N_("Срок действия направления уже прошёл: укажите сегодняшнюю или более позднюю дату"),
            field="valid_until",
        )
    return until


def read_referral(appeal: Appeal, form: Any) -> ReferralDraft:
    """The referral the form describes, or a clear refusal; nothing is stored."""
    specialty = next((s for s in specialties(appeal) if s.id == _text(form, "specialty")), None)
    if specialty is None:
        raise ValidationError(N_("Выберите специальность врача"), field="specialty")
    consultant = None
    if _text(form, "consultant"):
        consultant = _doctor(appeal, _text(form, "consultant"))
        if consultant.specialty_id != specialty.id:
            raise ValidationError(
                N_("Врач %(name)s не ведёт приём по специальности «%(specialty)s»"),
                field="consultant",
                name=consultant.full_name,
                specialty=specialty.name,
            )
    local_now = to_local(utcnow())
    today = local_now.date() if local_now else utcnow().date()
    valid_until = _valid_until(form, today)
    justification = _text(form, "justification")
    if not justification:
        raise ValidationError(N_("Укажите обоснование направления"), field="justification")
    return ReferralDraft(specialty, consultant, valid_until, _text(form, "diagnoses"), justification)


def create_referral(staff: Staff, appeal: Appeal, draft: ReferralDraft) -> Referral:
    """«Информация верна, создать направление»: the referral, in the post's scope."""
    return Referral.create(
        patient=appeal.patient_id,
        post=appeal.post_id,
        author=staff,
        specialty=draft.specialty,
        consultant=draft.consultant,
        valid_until=draft.valid_until,
        diagnoses=draft.diagnoses,
        justification=draft.justification,
        source_appeal=appeal,
    )


# --- «Запись на консультацию» -------------------------------------------------------------


@dataclass(frozen=True)
class BookingDraft:
    """A checked booking, shown for «Информация верна, создать обращение» before it is stored."""

    consultant: Staff
    slot: Slot
    question: str
    #: The ИДС to the new consultation: who gave it, the representative's name, when.
    consent_by: str = ""
    consent_name: str = ""
    consent_at: datetime | None = None


def read_booking(appeal: Appeal, form: Any, now: datetime | None = None) -> BookingDraft:
    """The booking the form describes, or a clear refusal; nothing is stored."""
    consultant = _doctor(appeal, _text(form, "consultant"))
    check_may_book(consultant, appeal.patient)
    slot_id = _text(form, "slot")
    slot = next((s for s in free_slots(consultant.id, now) if s.id == slot_id), None) if slot_id else None
    if slot is None:
        raise ValidationError(
            N_("Выберите свободные дату и время приёма («Изменить дату и время»)"), field="slot"
        )
    question = _text(form, "question")
    if not question:
        raise ValidationError(N_("Заполните текст обращения"), field="question")
    consent_by, consent_name, consent_at = Appeal.check_consent(
        appeal.patient, _text(form, "consent_by"), _text(form, "consent_name"), _consent_time(form, now), now
    )
    return BookingDraft(consultant, slot, question, consent_by, consent_name, consent_at)


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


def book(staff: Staff, appeal: Appeal, draft: BookingDraft) -> Appeal:
    """«Информация верна, создать обращение»: a new appeal for the same patient and post."""
    if draft.consultant.specialty is None:
        raise ValidationError(N_("У консультанта не указана специальность"), field="consultant")
    return Appeal.book(
        patient=appeal.patient,
        author=staff,
        specialty=draft.consultant.specialty,
        consultant=draft.consultant,
        slot=draft.slot,
        form_of_care=FormOfCare.PLANNED,
        kind=AppealKind.REPEAT,
        contact_mode=appeal.contact_mode,
        question=draft.question,
        consent_by=draft.consent_by,
        consent_name=draft.consent_name,
        consent_at=draft.consent_at,
    )


def issued_from(appeal: Appeal) -> list[Referral]:
    """Referrals already issued from this appeal, newest first."""
    query = Referral.live().where(Referral.source_appeal == appeal.id)
    return list(query.order_by(Referral.created_at.desc()))
