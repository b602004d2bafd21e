"""Domain records as the JSON the API returns (the same shape on node and central)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain.models import Appeal, Attachment, ChatMessage, Patient, Protocol, Role, Slot, Staff

__all__ = [
    "appeal_json",
    "attachment_json",
    "chat_message_json",
    "patient_json",
    "staff_json",
    "slot_json",
    "protocol_json",
    "iso",
]


def iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat() + "Z"
    return value.isoformat()


def staff_json(staff: Staff | None) -> dict[str, Any] | None:
    if staff is None:
        return None
    return {
        "id": staff.id,
        "full_name": staff.full_name,
        "role": staff.role,
        "organization": staff.organization_id,
        "specialty": staff.specialty.name if staff.specialty is not None else None,
        "specialty_id": staff.specialty_id,
    }


def patient_json(patient: Patient) -> dict[str, Any]:
    return {
        "id": patient.id,
        "last_name": patient.last_name,
        "first_name": patient.first_name,
        "middle_name": patient.middle_name,
        "full_name": patient.full_name,
        "birth_date": iso(patient.birth_date),
        "sex": patient.sex,
        "snils": patient.snils,
        "enp": patient.enp,
        "phone": patient.phone,
        "address": patient.address,
        "organization": patient.organization_id,
        "representative": patient.representative_id,
        "representative_relation": patient.representative_relation,
        "representative_name": patient.representative_display,
        "representative_document": patient.representative_document,
        "representative_phone": patient.representative_phone,
    }


def slot_json(slot: Slot) -> dict[str, Any]:
    return {
        "id": slot.id,
        "consultant": slot.consultant_id,
        "starts_at": iso(slot.starts_at),
        "ends_at": iso(slot.ends_at),
    }


def protocol_json(protocol: Protocol) -> dict[str, Any]:
    return {
        "id": protocol.id,
        "consultant": staff_json(protocol.consultant),
        "anamnesis": protocol.anamnesis,
        "recommendations": protocol.recommendations,
        "additional_recommendations": protocol.additional_recommendations,
        "sent_at": iso(protocol.sent_at),
        "diagnoses": [{"code": d.code, "title": d.title, "role": d.role} for d in protocol.conclusion()],
    }


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.id,
        "kind": attachment.kind,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
    }


def appeal_json(appeal: Appeal, now: datetime, *, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": appeal.id,
        "status": appeal.status,
        "overdue": appeal.is_overdue(now),
        "form_of_care": appeal.form_of_care,
        "proposed_form_of_care": appeal.proposed_form or None,
        "form_reason": appeal.form_reason,
        "kind": appeal.kind,
        "contact_mode": appeal.contact_mode,
        "patient": {"id": appeal.patient_id, "full_name": appeal.patient.full_name},
        "post": {"id": appeal.post_id, "name": appeal.post.name},
        "specialty": {"id": appeal.specialty_id, "name": appeal.specialty.name},
        "consultant": staff_json(appeal.consultant) if appeal.consultant_id else None,
        "slot": slot_json(appeal.slot) if appeal.slot is not None else None,
        "created_at": iso(appeal.created_at),
        "due_at": iso(appeal.due_at),
        "taken_at": iso(appeal.taken_at),
        "closed_at": iso(appeal.closed_at),
        "consent": {"by": appeal.consent_by, "name": appeal.consent_name, "at": iso(appeal.consent_at)},
    }
    if detail:
        protocol = appeal.current_protocol()
        out.update(
            question=appeal.question,
            anamnesis=appeal.anamnesis,
            complaints=appeal.complaints,
            exam_data=appeal.exam_data,
            author=staff_json(appeal.author),
            patient=patient_json(appeal.patient),
            protocol=protocol_json(protocol) if protocol else None,
            attachments=[attachment_json(a) for a in appeal.attachments if not a.deleted],
        )
    return out


def chat_message_json(message: ChatMessage) -> dict[str, Any]:
    """A chat message as both apps' API return it (the side tells who wrote it)."""
    author = message.author
    attachment = message.attachment if message.attachment_id else None
    return {
        "id": message.id,
        "appeal": message.appeal_id,
        "author": {"id": author.id, "full_name": author.full_name, "role": author.role},
        "side": "post" if author.role == Role.FELDSHER else "centre",
        "text": message.text,
        "sent_at": iso(message.sent_at),
        "attachment": attachment_json(attachment) if attachment is not None else None,
    }
