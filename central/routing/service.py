"""«Маршрутизация» of an appeal in work or closed: a referral, or a booking that opens a new appeal
(the booking itself: :mod:`central.routing.booking`).

Both are replicated rows in the post's scope (the referral's ``post``, the new appeal's
patient's post), so they reach the post with its next pull.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from central.appeals import service as appeals
from domain.errors import ForbiddenError, NotFoundError, ValidationError
from domain.models import Appeal, AppealStatus, Organization, OrgKind, Referral, Role, Specialty, Staff
from domain.models.appeal_queries import free_slots
from domain.models.directory import region_centres
from i18n import N_
from sync.clock import utcnow
from web.i18n import to_local

__all__ = [
    "routable_appeal",
    "doctors",
    "region_doctors",
    "specialties",
    "free_slots",
    "ReferralDraft",
    "read_referral",
    "create_referral",
    "issued_from",
]

_TEXT_LIMIT = 4000


def routable_appeal(staff: Staff, appeal_id: str) -> Appeal:
    """An appeal in work or closed that ``staff`` consults on; NotFoundError if unseen or open,
    ForbiddenError if someone else's."""
    appeal = appeals.visible_appeal(staff, appeal_id)
    if appeal.status not in (AppealStatus.IN_WORK, AppealStatus.CLOSED):
        raise NotFoundError(N_("Маршрутизация доступна для обращений в работе и закрытых"))
    if staff.id not in (appeal.consultant_id, appeal.taken_by_id):
        raise ForbiddenError(N_("Маршрутизацию выполняет консультант, который ведёт обращение"))
    return appeal


def region_doctors(post_id: str) -> list[Staff]:
    """Consultants of the centres of a post's region: those the post can see and book."""
    return list(
        Staff.live()
        .join(Organization, on=(Staff.organization == Organization.id))
        .where(
            (Staff.role == Role.CONSULTANT)
            & (Staff.active == True)  # noqa: E712
            & (Organization.kind == OrgKind.CENTRE)
            & Staff.organization.in_(region_centres(post_id))
            & Staff.specialty.is_null(False)
        )
        .order_by(Staff.last_name, Staff.first_name)
    )


def doctors(appeal: Appeal) -> list[Staff]:
    """Consultants of the centres of the appeal's region."""
    return region_doctors(appeal.post_id)


def specialties(appeal: Appeal) -> list[Specialty]:
    """Specialties that some consultant of the region sees patients in."""
    ids = {doctor.specialty_id for doctor in doctors(appeal)}
    return [s for s in Specialty.live().order_by(Specialty.name) if s.id in ids]


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


def issued_from(appeal: Appeal) -> list[Referral]:
    """Referrals already issued from this appeal, newest first."""
    query = Referral.live().where(Referral.source_appeal == appeal.id)
    return list(query.order_by(Referral.created_at.desc()))
