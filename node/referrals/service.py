"""Referrals (направления) issued at this post: the list and «Информация верна, создать направление»."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app

from domain.errors import ValidationError
from domain.models import Patient, Referral, Role, Specialty, Staff
from i18n import N_

from ..patients.service import post_patient

__all__ = ["issued", "for_patient", "create_referral", "parse_validity"]


def _post() -> str:
    return str(current_app.extensions["identity"].organization_id)


def issued(limit: int = 200) -> list[Referral]:
    """The referrals for this post's patients, newest first."""
    return list(
        Referral.live().where(Referral.post == _post()).order_by(Referral.created_at.desc()).limit(limit)
    )


def for_patient(patient: Patient) -> list[Referral]:
    return list(Referral.live().where(Referral.patient == patient.id).order_by(Referral.created_at.desc()))


def parse_validity(valid_until: str, indefinite: bool, today: date | None = None) -> date | None:
    """The date a referral stays valid until, or None for «бессрочно»."""
    if indefinite:
        return None
    text = (valid_until or "").strip()
    if not text:
        raise ValidationError(
            N_("Укажите срок действия направления или отметьте «Бессрочно»"), field="valid_until"
        )
    try:
        until = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(N_("Срок действия: дата в формате ГГГГ-ММ-ДД"), field="valid_until") from None
    if until < (today or date.today()):
        raise ValidationError(
            N_("Срок действия направления уже прошёл: укажите будущую дату"), field="valid_until"
        )
    return until


def _consultant(consultant_id: str, specialty: Specialty) -> Staff | None:
    if not consultant_id:
        return None
    consultant = Staff.get_or_none(
        (Staff.id == consultant_id) & (Staff.role == Role.CONSULTANT) & (Staff.deleted == False)  # noqa: E712
    )
    if consultant is None:
        raise ValidationError(N_("Консультант не найден: выберите из списка"), field="consultant")
    if consultant.specialty_id != specialty.id:
        raise ValidationError(N_("Консультант не ведёт приём по этой специальности"), field="consultant")
    return consultant


def create_referral(author: Staff, data: dict[str, Any]) -> Referral:
    """Validate everything, then store the referral at once (synced to central with the next round)."""
    patient = post_patient(str(data.get("patient", "")))
    specialty = Specialty.get_or_none(
        (Specialty.id == str(data.get("specialty") or "")) & (Specialty.deleted == False)  # noqa: E712
    )
    if specialty is None:
        raise ValidationError(N_("Выберите специальность"), field="specialty")
    consultant = _consultant(str(data.get("consultant") or ""), specialty)
    indefinite = str(data.get("indefinite") or "").lower() in ("1", "on", "true", "yes")
    valid_until = parse_validity(str(data.get("valid_until") or ""), indefinite)
    justification = str(data.get("justification") or "").strip()
    if not justification:
        raise ValidationError(N_("Укажите обоснование направления"), field="justification")
    return Referral.create(
        patient=patient,
        post=patient.organization_id,
        author=author,
        specialty=specialty,
        consultant=consultant,
        valid_until=valid_until,
        diagnoses=str(data.get("diagnoses") or "").strip(),
        justification=justification,
    )
