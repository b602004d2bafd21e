"""Central's appeal operations, shared by the pages and the JSON API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from peewee import Expression
from werkzeug.datastructures import FileStorage

from central.documents.protocol_pdf import ProtocolDocument, render_protocol_pdf
from central.protocols.files import attach_protocol_files, check_protocol_files
from central.protocols.icd10 import check_diagnoses
from domain.errors import NotFoundError
from domain.models import (
    Appeal,
    Attachment,
    AttachmentKind,
    Patient,
    Protocol,
    Staff,
)
from sync.blobs import BlobStore
from sync.clock import utcnow
from sync.db import database
from web.labels import LABELS

from .visibility import visible_to

__all__ = [
    "visible_appeal",
    "can_see",
    "appeals_visible_to",
    "take",
    "send_protocol",
    "protocol_pdf_bytes",
]


def appeals_visible_to(staff: Staff) -> Expression:
    """The condition on Appeal of what this staff member's pages show (the FHIR API reads it too)."""
    return visible_to(staff)


def visible_appeal(staff: Staff, appeal_id: str) -> Appeal:
    """The appeal if this staff member may open it; NotFoundError otherwise (as if there were none)."""
    appeal = Appeal.get_or_none((Appeal.id == appeal_id) & visible_to(staff))
    if appeal is None:
        raise NotFoundError()
    return appeal


def can_see(staff: Staff, appeal_id: str) -> bool:
    """Whether the appeal (and so its chat) is one this staff member may open."""
    return bool(Appeal.select(Appeal.id).where((Appeal.id == appeal_id) & visible_to(staff)).exists())


def take(staff: Staff, appeal_id: str, now: datetime | None = None) -> Appeal:
    """«Взять в работу» by the model's rule, re-reading the appeal inside the transaction."""
    with database.atomic():
        appeal = visible_appeal(staff, appeal_id)
        appeal.take_in_work(staff, now or utcnow())
    return appeal


def send_protocol(
    staff: Staff,
    appeal_id: str,
    *,
    anamnesis: str,
    recommendations: str,
    additional_recommendations: str,
    diagnoses: Sequence[Sequence[str]],
    files: Sequence[FileStorage] = (),
) -> Protocol:
    """«Отправить протокол»: protocol, diagnoses, files, the closed status and the PDF, all or nothing.

    Each diagnosis is (code, title, role) or (code, title); see :func:`check_diagnoses`.
    """
    blobs: BlobStore = current_app.extensions["blobs"]
    # Codes are checked against the national МКБ-10: only codes in force, most detailed level.
    cleaned = check_diagnoses(diagnoses)
    checked_files = check_protocol_files(files)
    with database.atomic():
        appeal = visible_appeal(staff, appeal_id)
        protocol = Protocol.send(
            appeal,
            staff,
            anamnesis=anamnesis,
            recommendations=recommendations,
            additional_recommendations=additional_recommendations,
            diagnoses=cleaned,
        )
        pdf = render_protocol_pdf(_document(appeal, protocol))
        sha = blobs.put(pdf)
        Attachment.create(
            appeal=appeal,
            kind=AttachmentKind.PROTOCOL_PDF,
            filename=f"protocol-{appeal.id[:8]}.pdf",
            content_type="application/pdf",
            size=len(pdf),
            sha256=sha,
            uploaded_by=staff,
        )
        attach_protocol_files(appeal, staff, checked_files)
    return protocol


def protocol_pdf_bytes(appeal: Appeal) -> bytes:
    attachment = appeal.protocol_pdf()
    if attachment is None:
        raise NotFoundError()
    blobs: BlobStore = current_app.extensions["blobs"]
    return blobs.read(attachment.sha256)


def _document(appeal: Appeal, protocol: Protocol) -> ProtocolDocument:
    consultant = protocol.consultant
    zone = ZoneInfo(consultant.timezone or "Europe/Moscow")

    def local(value: datetime) -> datetime:
        return value.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)

    patient = appeal.patient
    return ProtocolDocument(
        appeal_number=appeal.id[:8],
        centre_name=consultant.organization.name,
        post_name=appeal.post.name,
        patient_name=patient.full_name,
        patient_birth_date=patient.birth_date,
        patient_sex=patient.sex,
        patient_snils=patient.snils_display,
        patient_enp=patient.enp or "",
        consultant_name=consultant.full_name,
        consultant_specialty=consultant.specialty.name if consultant.specialty is not None else "",
        feldsher_name=appeal.author.full_name,
        form_of_care=LABELS["form_of_care"][appeal.form_of_care],
        kind=LABELS["kind"][appeal.kind],
        created_at=local(appeal.created_at),
        slot_at=local(appeal.slot.starts_at) if appeal.slot is not None else None,
        closed_at=local(protocol.sent_at),
        question=appeal.question,
        anamnesis=protocol.anamnesis,
        recommendations=protocol.recommendations,
        additional_recommendations=protocol.additional_recommendations,
        diagnoses=[
            (d.code, d.title, LABELS["diagnosis_role"].get(d.role, d.role)) for d in protocol.conclusion()
        ],
        timezone_label=str(zone),
        representative=_representative(patient),
        consent_by=LABELS["consent_by"].get(appeal.consent_by, appeal.consent_by),
        consent_name=appeal.consent_name,
        consent_at=local(appeal.consent_at) if appeal.consent_at else None,
        consent_scan=bool(appeal.consent_scans()),
    )


def _representative(patient: Patient) -> str:
    """The legal representative as the protocol names them: «ФИО (мать)»."""
    name = patient.representative_display
    relation = LABELS["relation"].get(patient.representative_relation, "")
    return f"{name} ({relation})" if name and relation else name
