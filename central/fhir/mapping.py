"""faplink's records as FHIR R4 (4.0.1) resources: the one place that maps them.

The pages, the API, `$everything` and the bulk export all build resources here,
from rows the caller has already read (a batch at a time for the export), so
that the mapping itself never queries per row. References are relative
(``Patient/<id>``); ids are the records' own UUIDs (the appeal's id is its
ServiceRequest's and its Consent's, the protocol's its Composition's).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from typing import Any

from domain.models import (
    CATALOGUE,
    LABS,
    Appeal,
    AppealStatus,
    Attachment,
    AttachmentKind,
    ConsentGiver,
    Diagnosis,
    Exam,
    Observation,
    Organization,
    OrgKind,
    Patient,
    Protocol,
    Specialty,
    Staff,
)
from sync.clock import Stamp

from . import systems

__all__ = [
    "Directory",
    "Resource",
    "reference",
    "patient",
    "practitioner",
    "organization",
    "service_request",
    "observation",
    "composition",
    "condition",
    "document_reference",
    "consent",
    "DOCUMENT_KINDS",
]

Resource = dict[str, Any]

#: The attachments that are documents of the consultation (the protocol's PDF, its signed
#: copy, the detached CMS signature a GOST or external signer makes), with their Russian names.
DOCUMENT_KINDS: dict[str, str] = {
    AttachmentKind.PROTOCOL_PDF: "Протокол телемедицинской консультации (PDF)",
    AttachmentKind.SIGNED_PROTOCOL: "Протокол, подписанный электронной подписью (PDF)",
    AttachmentKind.PROTOCOL_SIGNATURE: "Открепленная электронная подпись протокола (CMS, .p7s)",
}
SIGNATURE_KINDS = frozenset(DOCUMENT_KINDS) - {AttachmentKind.PROTOCOL_PDF, AttachmentKind.SIGNED_PROTOCOL}

_SEX = {"male": "male", "female": "female"}
_SR_STATUS = {
    AppealStatus.NEW: "active",
    AppealStatus.IN_WORK: "active",
    AppealStatus.CLOSED: "completed",
    AppealStatus.CANCELLED: "revoked",
}
_KIND = {"primary": "первичная", "repeat": "повторная", "monitoring": "мониторинг"}
_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_SNOMED = "http://snomed.info/sct"
_CONSULT_NOTE = {"system": systems.LOINC, "code": "11488-4", "display": "Consult note"}


@dataclass
class Directory:
    """Staff and specialties by id (small directories, read once per request or export), and
    the server's base URL for links to files ("" when unknown: the export without one)."""

    staff: dict[str, Staff] = field(default_factory=dict)
    specialties: dict[str, Specialty] = field(default_factory=dict)
    base: str = ""

    @classmethod
    def load(cls, base: str = "") -> Directory:
        return cls(
            staff={s.id: s for s in Staff.select()},
            specialties={s.id: s for s in Specialty.select()},
            base=base,
        )

    def organization_of(self, staff_id: str | None) -> str | None:
        staff = self.staff.get(staff_id or "")
        return staff.organization_id if staff is not None else None

    def specialty_name(self, specialty_id: str | None) -> str:
        specialty = self.specialties.get(specialty_id or "")
        return specialty.name if specialty is not None else ""


# -- helpers ---------------------------------------------------------------------------


def reference(kind: str, record_id: str | None, display: str = "") -> dict[str, str] | None:
    if not record_id:
        return None
    ref = {"reference": f"{kind}/{record_id}"}
    if display:
        ref["display"] = display
    return ref


def _instant(value: datetime | None) -> str | None:
    """A naive UTC time as FHIR's dateTime/instant (seconds, explicit zone)."""
    if value is None:
        return None
    return value.replace(microsecond=0).isoformat() + "+00:00"


def _meta(row: Any) -> dict[str, Any]:
    try:
        wall_ms = Stamp.decode(row.hlc).wall_ms
    except (ValueError, AttributeError):
        return {}
    return {"lastUpdated": _instant(datetime.utcfromtimestamp(wall_ms / 1000))}


def _narrative(*lines: str) -> dict[str, str]:
    body = "".join(f"<p>{escape(line)}</p>" for line in lines if line) or "<p>—</p>"
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def _clean(resource: Resource) -> Resource:
    """Drop empty elements: FHIR forbids empty strings, lists and objects."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            out = {k: clean(v) for k, v in value.items()}
            return {k: v for k, v in out.items() if v not in (None, "", [], {})}
        if isinstance(value, list):
            return [v for v in (clean(v) for v in value) if v not in (None, "", [], {})]
        return value

    return clean(resource)  # type: ignore[no-any-return]


def _human_name(last: str, first: str, middle: str) -> dict[str, Any]:
    given = [p for p in (first, middle) if p]
    return {"use": "official", "family": last, "given": given, "text": " ".join([last, *given])}


def _staff_name(directory: Directory, staff_id: str | None) -> str:
    staff = directory.staff.get(staff_id or "")
    return staff.full_name if staff is not None else ""


# -- people and organisations ----------------------------------------------------------


def patient(row: Patient, representative: str = "") -> Resource:
    """The patient; `representative` is the name of a linked legal representative (another
    patient of the post), when the card names one that way."""
    identifiers = []
    if row.snils:
        identifiers.append({"use": "official", "system": systems.SNILS, "value": row.snils})
    if row.enp:
        identifiers.append({"use": "official", "system": systems.ENP, "value": row.enp})
    contact = []
    name = row.representative_name or representative
    if name or row.representative_phone:
        contact.append(
            {
                "relationship": [{"text": "законный представитель"}],
                "name": {"text": name} if name else None,
                "telecom": [{"system": "phone", "value": row.representative_phone}]
                if row.representative_phone
                else [],
            }
        )
    birth = row.birth_date.isoformat() if isinstance(row.birth_date, date) else str(row.birth_date)
    return _clean(
        {
            "resourceType": "Patient",
            "id": row.id,
            "meta": _meta(row),
            "identifier": identifiers,
            "active": True,
            "name": [_human_name(row.last_name, row.first_name, row.middle_name)],
            "telecom": [{"system": "phone", "value": row.phone, "use": "mobile"}] if row.phone else [],
            "gender": _SEX.get(row.sex, "unknown"),
            "birthDate": birth,
            "address": [{"text": row.address}] if row.address else [],
            "contact": contact,
            "managingOrganization": reference("Organization", row.organization_id),
        }
    )


def practitioner(row: Staff, directory: Directory) -> Resource:
    qualification = []
    specialty = directory.specialty_name(row.specialty_id)
    if specialty or row.position:
        qualification.append({"code": {"text": specialty or row.position}})
    return _clean(
        {
            "resourceType": "Practitioner",
            "id": row.id,
            "meta": _meta(row),
            "active": bool(row.active and not row.deleted),
            "name": [_human_name(row.last_name, row.first_name, row.middle_name)],
            "qualification": qualification,
        }
    )


def organization(row: Organization) -> Resource:
    kind = "ФАП" if row.kind == OrgKind.POST else "Консультативный центр"
    return _clean(
        {
            "resourceType": "Organization",
            "id": row.id,
            "meta": _meta(row),
            "active": not row.deleted,
            "type": [{"coding": [{"system": systems.FAPLINK + ":org-kind", "code": row.kind}], "text": kind}],
            "name": row.name,
            "telecom": [{"system": "phone", "value": row.phone}] if row.phone else [],
            "address": [{"text": row.address}] if row.address else [],
            "partOf": reference("Organization", row.parent_id),
        }
    )


# -- the appeal and what was measured --------------------------------------------------


def service_request(row: Appeal, directory: Directory, slot_start: datetime | None = None) -> Resource:
    """The appeal (обращение): form of care as priority, the feldsher asks, the consultant performs."""
    specialty = directory.specialty_name(row.specialty_id)
    notes = [
        ("Жалобы", row.complaints),
        ("Анамнез", row.anamnesis),
        ("Данные осмотра", row.exam_data),
        ("Причина менее срочной формы помощи", row.form_reason),
    ]
    return _clean(
        {
            "resourceType": "ServiceRequest",
            "id": row.id,
            "meta": _meta(row),
            "status": _SR_STATUS.get(row.status, "unknown"),
            "intent": "order",
            "category": [{"text": f"Консультация: {_KIND.get(row.kind, row.kind)}"}],
            "priority": systems.FORM_OF_CARE_PRIORITY.get(row.form_of_care),
            "code": {
                "coding": [{"system": _SNOMED, "code": "11429006", "display": "Consultation"}],
                "text": "Телемедицинская консультация «врач (фельдшер) — врач»",
            },
            "subject": reference("Patient", row.patient_id),
            "occurrenceDateTime": _instant(slot_start),
            "authoredOn": _instant(row.created_at),
            "requester": reference("Practitioner", row.author_id, _staff_name(directory, row.author_id)),
            "performerType": {"text": specialty},
            "performer": [
                reference("Practitioner", row.consultant_id, _staff_name(directory, row.consultant_id))
            ],
            "reasonCode": [{"text": row.question}],
            "note": [{"text": f"{label}: {text}"} for label, text in notes if (text or "").strip()],
        }
    )


def observation(row: Observation, exam: Exam) -> Resource:
    """A vital sign or lab result: LOINC code, UCUM unit, when, the device, the post."""
    label, unit, _ = CATALOGUE.get(row.loinc, ("", row.unit, (0, 0)))
    category = "laboratory" if row.loinc in LABS else "vital-signs"
    device = " ".join(p for p in (row.device, f"№ {row.device_serial}" if row.device_serial else "") if p)
    return _clean(
        {
            "resourceType": "Observation",
            "id": row.id,
            "meta": _meta(row),
            "status": "final",
            "category": [{"coding": [{"system": _CATEGORY, "code": category}]}],
            "code": {"coding": [{"system": systems.LOINC, "code": row.loinc}], "text": label},
            "subject": reference("Patient", exam.patient_id),
            "basedOn": [reference("ServiceRequest", exam.appeal_id)],
            "effectiveDateTime": _instant(row.taken_at),
            "performer": [
                reference("Organization", exam.post_id),
                reference("Practitioner", exam.__data__.get("author")),
            ],
            "valueQuantity": {
                "value": row.value,
                "unit": row.unit or unit,
                "system": systems.UCUM,
                "code": row.unit or unit,
            },
            "method": {"text": "введено вручную" if row.manual else "с медицинского прибора"},
            "device": {"display": device} if device and not row.manual else None,
        }
    )


# -- the protocol ----------------------------------------------------------------------


def condition(row: Diagnosis, protocol: Protocol, appeal: Appeal, directory: Directory) -> Resource:
    """A diagnosis of the protocol: national МКБ-10 code and its role in the conclusion."""
    role_code, role_name = systems.DIAGNOSIS_ROLES.get(row.role, ("", row.role))
    return _clean(
        {
            "resourceType": "Condition",
            "id": row.id,
            "meta": _meta(row),
            "clinicalStatus": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}
                ]
            },
            "verificationStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                        "code": "confirmed",
                    }
                ]
            },
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                            "code": "encounter-diagnosis",
                        }
                    ]
                },
                {
                    "coding": [{"system": systems.DIAGNOSIS_ROLE, "code": role_code, "display": role_name}],
                    "text": role_name,
                },
            ],
            "code": {
                "coding": [{"system": systems.ICD10_RU, "code": row.code, "display": row.title}],
                "text": row.title or row.code,
            },
            "subject": reference("Patient", appeal.patient_id),
            "recordedDate": _instant(protocol.sent_at),
            "recorder": reference(
                "Practitioner", protocol.consultant_id, _staff_name(directory, protocol.consultant_id)
            ),
        }
    )


def composition(
    row: Protocol, appeal: Appeal, diagnoses: Sequence[Diagnosis], directory: Directory
) -> Resource:
    """The protocol: «Анамнез», «Рекомендации», «Дополнительные рекомендации», the diagnoses."""
    sections: list[dict[str, Any]] = []
    if (row.anamnesis or "").strip():
        sections.append(
            {
                "title": "Анамнез",
                "code": {"coding": [{"system": systems.LOINC, "code": "10164-2"}], "text": "Анамнез"},
                "text": _narrative(*row.anamnesis.splitlines()),
            }
        )
    sections.append(
        {
            "title": "Рекомендации",
            "code": {"coding": [{"system": systems.LOINC, "code": "18776-5"}], "text": "Рекомендации"},
            "text": _narrative(*row.recommendations.splitlines()),
        }
    )
    if (row.additional_recommendations or "").strip():
        sections.append(
            {
                "title": "Дополнительные рекомендации",
                "text": _narrative(*row.additional_recommendations.splitlines()),
            }
        )
    if diagnoses:
        sections.append(
            {
                "title": "Диагнозы",
                "code": {"coding": [{"system": systems.LOINC, "code": "29548-5"}], "text": "Диагнозы"},
                "text": _narrative(
                    *(
                        f"{systems.DIAGNOSIS_ROLES.get(d.role, ('', d.role))[1]}: {d.code} {d.title}".strip()
                        for d in diagnoses
                    )
                ),
                "entry": [reference("Condition", d.id) for d in diagnoses],
            }
        )
    return _clean(
        {
            "resourceType": "Composition",
            "id": row.id,
            "meta": _meta(row),
            "status": "final",
            "type": {"coding": [_CONSULT_NOTE], "text": "Протокол телемедицинской консультации"},
            "subject": reference("Patient", appeal.patient_id),
            "date": _instant(row.sent_at),
            "author": [
                reference("Practitioner", row.consultant_id, _staff_name(directory, row.consultant_id))
            ],
            "title": "Протокол телемедицинской консультации",
            "custodian": reference("Organization", directory.organization_of(row.consultant_id)),
            "event": [{"detail": [reference("ServiceRequest", appeal.id)]}],
            "section": sections,
        }
    )


# -- documents and consent -------------------------------------------------------------


def _attachment(row: Attachment, base: str) -> dict[str, Any]:
    return {
        "contentType": row.content_type,
        "url": f"{base}Binary/{row.id}" if base else None,
        "size": row.size,
        "title": row.filename,
        "creation": _instant(row.created_at),
    }


def document_reference(
    row: Attachment,
    appeal: Appeal | None,
    protocol_id: str | None,
    directory: Directory,
    relates_to: Iterable[tuple[str, str]] = (),
) -> Resource:
    """The protocol's PDF, its signed copy or a detached signature, with what it relates to."""
    is_pdf = row.kind in (AttachmentKind.PROTOCOL_PDF, AttachmentKind.SIGNED_PROTOCOL)
    author = row.__data__.get("uploaded_by")
    doc_type: dict[str, Any] = (
        {"coding": [_CONSULT_NOTE], "text": DOCUMENT_KINDS.get(row.kind, row.kind)}
        if is_pdf
        else {"text": DOCUMENT_KINDS.get(row.kind, row.kind)}
    )
    return _clean(
        {
            "resourceType": "DocumentReference",
            "id": row.id,
            "meta": _meta(row),
            "identifier": [{"system": systems.FAPLINK + ":sha256", "value": row.sha256}],
            "status": "current",
            "docStatus": "final",
            "type": doc_type,
            "category": [{"coding": [{"system": systems.FAPLINK + ":attachment-kind", "code": row.kind}]}],
            "subject": reference("Patient", appeal.patient_id if appeal is not None else None),
            "date": _instant(row.created_at),
            "author": [reference("Practitioner", author, _staff_name(directory, author))],
            "custodian": reference("Organization", directory.organization_of(author)),
            "relatesTo": [
                {"code": code, "target": reference("DocumentReference", target)}
                for code, target in relates_to
            ],
            "description": DOCUMENT_KINDS.get(row.kind, row.filename),
            "content": [{"attachment": _attachment(row, directory.base)}],
            "context": {
                "related": [
                    reference("ServiceRequest", row.appeal_id),
                    reference("Composition", protocol_id),
                ]
            },
        }
    )


def consent(appeal: Appeal, scans: Sequence[Attachment], directory: Directory) -> Resource | None:
    """The ИДС to the telemedicine consultation, as the post recorded it (None: not recorded)."""
    if not appeal.consent_by:
        return None
    if appeal.consent_by == ConsentGiver.PATIENT:
        performer = reference("Patient", appeal.patient_id)
    else:
        performer = {"display": f"{appeal.consent_name} (законный представитель)"}
    return _clean(
        {
            "resourceType": "Consent",
            "id": appeal.id,
            "meta": _meta(appeal),
            "status": "active",
            "scope": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "treatment"}
                ]
            },
            "category": [
                {
                    "coding": [{"system": systems.LOINC, "code": "59284-0", "display": "Patient Consent"}],
                    "text": "ИДС на консультацию с применением телемедицинских технологий",
                }
            ],
            "patient": reference("Patient", appeal.patient_id),
            "dateTime": _instant(appeal.consent_at),
            "performer": [performer],
            "organization": [reference("Organization", appeal.post_id)],
            "sourceAttachment": _attachment(scans[0], directory.base) if scans else None,
            "policyRule": {"text": "Федеральный закон № 323-ФЗ, ст. 20 и 36.2"},
            "provision": {
                "type": "permit",
                "data": [{"meaning": "related", "reference": reference("ServiceRequest", appeal.id)}],
            },
        }
    )
