"""Finding and registering patients at the post (pages and API share these)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import current_app

from domain.errors import ValidationError
from domain.models import Patient, Sex
from domain.models.directory import today_at
from domain.models.patients import ADULT_AGE
from domain.validators import PHONE_EXTENSION, normalize_enp, normalize_phone
from i18n import N_
from sync.db import database

__all__ = [
    "search",
    "register",
    "update",
    "post_patient",
    "changed_fields",
    "representative_candidates",
    "EDITABLE",
    "REPRESENTATIVE_FIELDS",
]


def _post() -> str:
    return str(current_app.extensions["identity"].organization_id)


def search(query: str) -> list[Patient]:
    """By phone (with everyone that phone's owner represents), SNILS or ЕНП, or by surname.

    Eleven digits may be a SNILS or a phone number (8…/7…): both are tried.
    """
    text = (query or "").strip()
    if not text:
        return []
    digits = re.sub(r"\D", "", text)
    live = Patient.live().where(Patient.organization == _post())
    if not digits:
        return list(live.where(Patient.last_name.contains(text)).order_by(Patient.last_name).limit(50))
    found: list[Patient] = []
    a_phone = False
    if len(digits) == 16:
        found.extend(live.where(Patient.enp == normalize_enp(digits)))
    if len(digits) == 11:
        found.extend(live.where(Patient.snils == digits))
    # More digits than a number has, with letters: a phone with its extension («… доб. 123»).
    with_extension = len(digits) > 10 and re.search(r"[^\d\s\-()]", text)
    if len(digits) in (10, 11) or text.startswith("+") or with_extension:
        try:
            phone = normalize_phone(text)
        except ValidationError:
            if not found and len(digits) != 11:
                raise
        else:
            a_phone = True
            owners = list(live.where(_same_phone(phone)))
            represented = live.where(Patient.representative.in_([p.id for p in owners]))
            found.extend(owners)
            found.extend(represented)
    if not found and not a_phone and len(digits) not in (10, 11, 16):
        raise ValidationError(N_("Введите телефон, СНИЛС (11 цифр) или полис ОМС (16 цифр)"), field="q")
    unique = {p.id: p for p in found}
    return list(unique.values())


#: The legal representative, as the form and the API send it: a patient of the post
#: (`representative`) or a name with a document and a phone; the relation always.
REPRESENTATIVE_FIELDS = (
    "representative",
    "representative_relation",
    "representative_name",
    "representative_document",
    "representative_phone",
)


def representative_candidates(query: str, exclude: str | None = None) -> list[Patient]:
    """«Найти представителя»: adult patients of the post found as in the patient search."""
    today = today_at(_post())
    return [p for p in search(query) if p.id != exclude and p.age(today) >= ADULT_AGE]


def _representative(data: dict[str, Any]) -> dict[str, Any]:
    """The representative's fields from a form or a JSON body; a linked patient wins over a name."""
    linked = str(data.get("representative") or "").strip() or None
    if linked:
        post_patient(linked)

    def text(name: str) -> str:
        return "" if linked else str(data.get(name) or "").strip()

    return {
        "representative": linked,
        "representative_relation": str(data.get("representative_relation") or "").strip(),
        "representative_name": text("representative_name"),
        "representative_document": text("representative_document"),
        "representative_phone": text("representative_phone") or None,
    }


def _same_phone(phone: str) -> Any:
    """Patients with this (normalised) phone: a number typed without its extension finds
    the cards that have one («доб. 123» is stored as ";ext=123" after the number)."""
    if PHONE_EXTENSION in phone:
        return Patient.phone == phone
    return (Patient.phone == phone) | Patient.phone.startswith(phone + PHONE_EXTENSION)


def post_patient(patient_id: str) -> Patient:
    patient = Patient.get_or_none(
        (Patient.id == patient_id) & (Patient.organization == _post()) & (Patient.deleted == False)  # noqa: E712
    )
    if patient is None:
        raise ValidationError(N_("Пациент не найден на этом посту"), field="patient")
    return patient


def _parse_date(value: Any) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationError(
            N_("Дата рождения должна быть в формате ГГГГ-ММ-ДД"), field="birth_date"
        ) from exc


def register(data: dict[str, Any]) -> Patient:
    """Create a patient with validated identity numbers; refuse a duplicate SNILS or ЕНП."""
    sex = data.get("sex")
    if sex not in Sex.ALL:
        raise ValidationError(N_("Укажите пол пациента"), field="sex")
    fields = {
        "last_name": str(data.get("last_name", "")).strip(),
        "first_name": str(data.get("first_name", "")).strip(),
        "middle_name": str(data.get("middle_name", "")).strip(),
        "birth_date": _parse_date(data.get("birth_date", "")),
        "sex": sex,
        "snils": str(data.get("snils") or "").strip() or None,
        "enp": str(data.get("enp") or "").strip() or None,
        "phone": str(data.get("phone") or "").strip() or None,
        "address": str(data.get("address", "")).strip(),
        "organization": _post(),
        **_representative(data),
    }
    probe = Patient(**fields)
    probe.validate()  # normalises the numbers before the duplicate check
    with database.atomic():
        probe.refuse_duplicates()
        fields.update(
            snils=probe.snils,
            enp=probe.enp,
            phone=probe.phone,
            representative_phone=probe.representative_phone,
        )
        return Patient.create(**fields)


EDITABLE = (
    "last_name",
    "first_name",
    "middle_name",
    "birth_date",
    "sex",
    "snils",
    "enp",
    "phone",
    "address",
    *REPRESENTATIVE_FIELDS,
)


def update(patient_id: str, data: dict[str, Any]) -> Patient:
    """Edit demographics; only the fields given change (and only those win a later merge)."""
    unknown = set(data) - set(EDITABLE)
    if unknown:
        raise ValidationError(
            N_("Эти поля нельзя изменить: %(fields)s"),
            field=sorted(unknown)[0],
            fields=", ".join(sorted(unknown)),
        )
    with database.atomic():
        patient = post_patient(patient_id)
        for name, value in data.items():
            if name == "birth_date":
                value = _parse_date(value)
            elif name in ("snils", "enp", "phone", "representative", "representative_phone"):
                value = str(value or "").strip() or None
            else:
                value = str(value or "").strip()
            setattr(patient, name, value)
        if patient.representative_id:
            post_patient(patient.representative_id)
            if "representative" in data:
                # A patient of the post chosen: the name written before no longer applies.
                patient.representative_name = patient.representative_document = ""
                patient.representative_phone = None
        patient.validate()  # normalises the numbers before the duplicate check
        patient.refuse_duplicates(exclude=patient.id)
        patient.save()
    return patient


def changed_fields(patient: Patient, form: dict[str, Any]) -> dict[str, Any]:
    """The editable fields whose submitted value differs from the card.

    A number retyped in another format counts as sent, but the save stamps only
    the fields whose stored value really changes, so only those win a later merge.
    """
    out: dict[str, Any] = {}
    for name in EDITABLE:
        if name not in form:
            continue
        sent = str(form[name] or "").strip()
        current = getattr(patient, name)
        if name == "birth_date":
            current_text = current.isoformat() if current else ""
        else:
            current_text = str(current or "")
        if sent != current_text:
            out[name] = sent
    return out
