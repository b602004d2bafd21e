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

A specialty's age range (Pediatrics: under 18; adult specialties: from 18) is part
of the same rule: a 78-year-old is never offered, nor booked into, Pediatrics.

One rule for every place a patient gets booked: the post's wizard and API,
central's «Запись на консультацию», and an appeal arriving at central by sync.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from i18n import N_
from sync.clock import utcnow

from .errors import ValidationError
from .models.directory import Organization, Role, Specialty, Staff, Visibility, today_at
from .models.patients import Patient
from .models.routing import Referral, ReferralStatus

__all__ = ["may_book", "check_may_book", "bookable", "age_fits", "check_age_fits", "fitting_specialties"]


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


def age_fits(specialty: Specialty | None, patient: Patient) -> bool:
    """Is the patient's age today at the post within the specialty's range?"""
    if specialty is None or (specialty.age_from is None and specialty.age_under is None):
        return True
    age = patient.age(today_at(patient.organization_id))
    if specialty.age_from is not None and age < specialty.age_from:
        return False
    return specialty.age_under is None or age < specialty.age_under


def check_age_fits(specialty: Specialty | None, patient: Patient) -> None:
    """Refuse a booking into a specialty for another age (a 78-year-old into Pediatrics)."""
    if specialty is None or age_fits(specialty, patient):
        return
    age = patient.age(today_at(patient.organization_id))
    if specialty.age_under is not None and age >= specialty.age_under:
        raise ValidationError(
            N_(
                "Специальность «%(specialty)s» — для пациентов младше %(under)s лет, "
                "а возраст пациента (полных лет): %(age)s. Выберите другую специальность"
            ),
            field="specialty",
            specialty=specialty.name,
            under=specialty.age_under,
            age=age,
        )
    raise ValidationError(
        N_(
            "Специальность «%(specialty)s» — для пациентов от %(age_from)s лет, "
            "а возраст пациента (полных лет): %(age)s. Выберите другую специальность"
        ),
        field="specialty",
        specialty=specialty.name,
        age_from=specialty.age_from,
        age=age,
    )


def fitting_specialties(specialties: Iterable[Specialty], patient: Patient) -> list[Specialty]:
    """The specialties whose age range the patient fits, in the given order."""
    return [s for s in specialties if age_fits(s, patient)]


def _specialty(consultant: Staff) -> Specialty | None:
    return Specialty.get_or_none(Specialty.id == consultant.specialty_id) if consultant.specialty_id else None


def may_book(consultant: Staff, patient: Patient, day: date | None = None) -> bool:
    """May this patient be booked to this consultant (on `day`, for a referral's validity)?"""
    if not age_fits(_specialty(consultant), patient):
        return False
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
    check_age_fits(_specialty(consultant), patient)
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
