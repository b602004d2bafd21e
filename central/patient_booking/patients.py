"""The patients a consultant may book: those of the posts in the consultant's region, found by
phone, СНИЛС or полис ОМС (never by name), and the card a consultant creates for a new one."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from domain.errors import ValidationError
from domain.models import Organization, OrgKind, Patient, Relation, Sex, Staff
from domain.validators import PHONE_EXTENSION, normalize_enp, normalize_phone
from i18n import N_
from sync.db import database

__all__ = ["region_posts", "search", "region_patient", "create"]


def region_posts(staff: Staff) -> list[Organization]:
    """The posts (ФАП) of the consultant's region, by name."""
    region = Organization.select(Organization.region).where(Organization.id == staff.organization_id)
    return list(
        Organization.live()
        .where((Organization.kind == OrgKind.POST) & Organization.region.in_(region))
        .order_by(Organization.name)
    )


def _in_region(staff: Staff) -> Any:
    return Patient.live().where(Patient.organization.in_([p.id for p in region_posts(staff)]))


def _same_phone(phone: str) -> Any:
    """Cards with this phone; a number typed without its extension finds those that have one."""
    if PHONE_EXTENSION in phone:
        return Patient.phone == phone
    return (Patient.phone == phone) | Patient.phone.startswith(phone + PHONE_EXTENSION)


def search(staff: Staff, query: str) -> list[Patient]:
    """By phone (with everyone its owner represents: «могут отображаться две медицинские
    карты»), СНИЛС (11 digits) or полис ОМС (16 digits); eleven digits are tried as both."""
    text = (query or "").strip()
    digits = re.sub(r"\D", "", text)
    if len(digits) not in (10, 11, 16) and not (text.startswith("+") and len(digits) >= 11):
        raise ValidationError(N_("Введите телефон, СНИЛС (11 цифр) или полис ОМС (16 цифр)"), field="query")
    live = _in_region(staff)
    found: list[Patient] = []
    if len(digits) == 16:
        found.extend(live.where(Patient.enp == normalize_enp(digits)))
    if len(digits) == 11:
        found.extend(live.where(Patient.snils == digits))
    if len(digits) in (10, 11) or text.startswith("+"):
        try:
            phone = normalize_phone(text)
        except ValidationError:
            phone = ""
        if phone:
            owners = list(live.where(_same_phone(phone)))
            found.extend(owners)
            found.extend(live.where(Patient.representative.in_([p.id for p in owners])))
    return list({p.id: p for p in found}.values())


def region_patient(staff: Staff, patient_id: str) -> Patient:
    """A patient of a post in the consultant's region, or a clear refusal."""
    patient = _in_region(staff).where(Patient.id == patient_id).first() if patient_id else None
    if patient is None:
        raise ValidationError(
            N_("Пациент не найден: найдите его по телефону, СНИЛС или полису ОМС"), field="patient"
        )
    return patient


def _birth_date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValidationError(
            N_("Дата рождения должна быть в формате ГГГГ-ММ-ДД"), field="birth_date"
        ) from None


def create(staff: Staff, data: Any) -> Patient:
    """«Создать»: a patient's card at a post of the region, which reaches the post with its next pull.

    The same rules as at the post: numbers checked and normalised, one card per СНИЛС and
    per ЕНП, a legal representative (named, with the relation) for a child.
    """
    post = next((p for p in region_posts(staff) if p.id == str(data.get("post") or "")), None)
    if post is None:
        raise ValidationError(N_("Выберите ФАП, к которому прикреплён пациент"), field="post")
    if data.get("sex") not in Sex.ALL:
        raise ValidationError(N_("Укажите пол пациента"), field="sex")
    relation = str(data.get("representative_relation") or "").strip()
    if relation and relation not in Relation.ALL:
        raise ValidationError(
            N_("Выберите, кем представитель приходится пациенту"), field="representative_relation"
        )

    def text(name: str) -> str:
        return str(data.get(name) or "").strip()[:500]

    probe = Patient(
        last_name=text("last_name"),
        first_name=text("first_name"),
        middle_name=text("middle_name"),
        birth_date=_birth_date(data.get("birth_date")),
        sex=data["sex"],
        snils=text("snils") or None,
        enp=text("enp") or None,
        phone=text("phone") or None,
        address=text("address"),
        organization=post,
        representative_relation=relation,
        representative_name=text("representative_name"),
        representative_document=text("representative_document"),
        representative_phone=text("representative_phone") or None,
    )
    probe.validate()  # normalises the numbers before the duplicate check
    with database.atomic():
        probe.refuse_duplicates()
        probe.save(force_insert=True)
    return probe
