"""Central's appeal operations, shared by the pages and the JSON API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app
from peewee import JOIN

from central.documents.protocol_pdf import ProtocolDocument, render_protocol_pdf
from faplink.web.labels import LABELS
from sync.blobs import BlobStore
from sync.clock import utcnow
from sync.db import database
from sync.errors import N_, ValidationError
from sync.models import (
    Appeal,
    AppealStatus,
    Attachment,
    AttachmentKind,
    Diagnosis,
    Organization,
    Patient,
    Protocol,
    Role,
    Staff,
)

__all__ = [
    "Queues",
    "queues",
    "visible_appeal",
    "take",
    "send_protocol",
    "protocol_pdf_bytes",
]

QUEUE_NAMES = ("new", "in_work", "closed")


@dataclass
class Queues:
    overdue: list[Appeal] = field(default_factory=list)
    new: list[Appeal] = field(default_factory=list)
    in_work: list[Appeal] = field(default_factory=list)
    closed: list[Appeal] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "overdue": len(self.overdue),
            "new": len(self.new) + len(self.overdue),
            "in_work": len(self.in_work),
            "closed": len(self.closed),
        }


def _visible_to(staff: Staff):  # type: ignore[no-untyped-def]
    """Appeals a consultant may see: addressed to them, or to their specialty with no one named."""
    if staff.role == Role.ADMIN:
        return Appeal.deleted == False  # noqa: E712
    mine = (Appeal.consultant == staff.id) | (Appeal.taken_by == staff.id)
    open_to_specialty = Appeal.consultant.is_null() & (Appeal.specialty == staff.specialty_id)
    return (Appeal.deleted == False) & (mine | open_to_specialty)  # noqa: E712


def queues(staff: Staff, now: datetime | None = None) -> Queues:
    now = now or utcnow()
    rows = (
        Appeal.select(Appeal, Patient, Organization)
        .join(Patient, on=(Appeal.patient == Patient.id))
        .switch(Appeal)
        .join(Organization, JOIN.INNER, on=(Appeal.post == Organization.id))
        .where(_visible_to(staff) & (Appeal.status != AppealStatus.CANCELLED))
        .order_by(Appeal.due_at)
    )
    out = Queues()
    for appeal in rows:
        if appeal.status == AppealStatus.NEW:
            (out.overdue if appeal.is_overdue(now) else out.new).append(appeal)
        elif appeal.status == AppealStatus.IN_WORK:
            out.in_work.append(appeal)
        elif appeal.status == AppealStatus.CLOSED:
            out.closed.append(appeal)
    out.closed.sort(key=lambda a: a.closed_at or a.created_at, reverse=True)
    return out


def visible_appeal(staff: Staff, appeal_id: str) -> Appeal:
    appeal = Appeal.get_or_none((Appeal.id == appeal_id) & _visible_to(staff))
    if appeal is None:
        abort(404)
    return appeal


def take(staff: Staff, appeal_id: str) -> Appeal:
    """«Взять в работу», re-reading the appeal inside the transaction."""
    with database.atomic():
        appeal = visible_appeal(staff, appeal_id)
        appeal.take_in_work(staff)
    return appeal


def send_protocol(
    staff: Staff,
    appeal_id: str,
    *,
    anamnesis: str,
    recommendations: str,
    additional_recommendations: str,
    diagnoses: list[tuple[str, str]],
) -> Protocol:
    """«Отправить протокол»: protocol, diagnoses, the closed status and the PDF, all or nothing."""
    blobs: BlobStore = current_app.extensions["blobs"]
    cleaned = [(c, t) for c, t in diagnoses if (c or "").strip() or (t or "").strip()]
    for code, _title in cleaned:
        if not (code or "").strip():
            raise ValidationError(N_("Укажите код МКБ-10 для каждого заболевания"), field="diagnoses")
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
    return protocol


def protocol_pdf_bytes(appeal: Appeal) -> bytes:
    attachment = appeal.protocol_pdf()
    if attachment is None:
        abort(404)
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
        diagnoses=[(d.code, d.title) for d in Diagnosis.select().where(Diagnosis.protocol == protocol)],
        timezone_label=str(zone),
    )
