"""Who may be booked to a consultant: the consultant's «доступность для пациентов».

- «Все пациенты региона» (region): any patient of the region's posts;
- «только прикреплённые к медицинской организации» (organization): patients of
  posts attached to the consultant's organisation (the organisation itself or a
  post whose «Головная организация» it is);
- «только пациенты, которым врач выдал направление» (referred): patients with a
  valid referral issued by this consultant, or issued by another consultant and
  naming this one as the doctor. A feldsher's referral does not open the door:
  access is the doctors' to give (and a post's referral could arrive at central
  only after the appeal that relies on it).

One rule for every place a patient gets booked: the post's wizard and API,
central's «Запись на консультацию», and an appeal arriving at central by sync.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from ..clock import utcnow
from ..errors import N_, ValidationError
from .directory import Organization, Role, Staff, Visibility
from .patients import Patient
from .routing import Referral, ReferralStatus

__all__ = ["may_book", "check_may_book", "bookable"]


def _referred(consultant: Staff, patient: Patient, day: date) -> bool:
    return (
        Referral.live()
        .where(
            (Referral.patient == patient.id)
            & (Referral.status == ReferralStatus.ACTIVE)
            & (Referral.valid_until.is_null() | (Referral.valid_until >= day))
            & (
                (Referral.author == consultant.id)
                | (
                    (Referral.consultant == consultant.id)
                    & Referral.author.in_(Staff.select(Staff.id).where(Staff.role == Role.CONSULTANT))
                )
            )
        )
        .exists()
    )


def _attached(consultant: Staff, patient: Patient) -> bool:
    post = Organization.get_or_none(Organization.id == patient.organization_id)
    return post is not None and post.attached_to(consultant.organization_id)


def may_book(consultant: Staff, patient: Patient, day: date | None = None) -> bool:
    """May this patient be booked to this consultant (on `day`, for a referral's validity)?"""
    visibility = consultant.visibility or Visibility.REGION
    if visibility == Visibility.ORGANIZATION:
        return _attached(consultant, patient)
    if visibility == Visibility.REFERRED:
        return _referred(consultant, patient, day or utcnow().date())
    return True


def check_may_book(consultant: Staff, patient: Patient, day: date | None = None) -> None:
    """Refuse, with the reason a feldsher or consultant understands, a booking the rule forbids."""
    if may_book(consultant, patient, day):
        return
    if consultant.visibility == Visibility.ORGANIZATION:
        raise ValidationError(
            N_(
                "Консультант %(name)s принимает только пациентов, прикреплённых к своей "
                "медицинской организации: выберите другого консультанта"
            ),
            field="consultant",
            name=consultant.full_name,
        )
    raise ValidationError(
        N_(
            "Консультант %(name)s принимает только пациентов по своему направлению: "
            "у пациента нет действующего направления к этому врачу"
        ),
        field="consultant",
        name=consultant.full_name,
    )


def bookable(consultants: Iterable[Staff], patient: Patient, day: date | None = None) -> list[Staff]:
    """The consultants this patient may be booked to, in the given order."""
    return [c for c in consultants if may_book(c, patient, day)]
