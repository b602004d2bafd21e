"""Central's appeal operations, shared by the pages and the JSON API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app, has_request_context, request
from peewee import JOIN, Expression
from werkzeug.datastructures import FileStorage

from central.documents.protocol_pdf import ProtocolDocument, render_protocol_pdf
from central.protocols.files import attach_protocol_files, check_protocol_files
from central.protocols.icd10 import check_diagnoses
from sync.blobs import BlobStore
from sync.clock import utcnow
from sync.db import database
from sync.errors import N_, LifecycleError
from sync.models import (
    Appeal,
    AppealStatus,
    Attachment,
    AttachmentKind,
    Organization,
    Patient,
    Protocol,
    Role,
    Staff,
)
from web.i18n import to_local, user_timezone
from web.labels import LABELS

from .filters import QueueFilter

__all__ = [
    "Queues",
    "queues",
    "visible_appeal",
    "can_see",
    "appeals_visible_to",
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
    """Appeals a consultant may see: addressed to them, or to their specialty with no one named
    from a post of their centre's region."""
    if staff.role == Role.ADMIN:
        return Appeal.deleted == False  # noqa: E712
    mine = (Appeal.consultant == staff.id) | (Appeal.taken_by == staff.id)
    own_region = Organization.select(Organization.region).where(Organization.id == staff.organization_id)
    region_posts = Organization.select(Organization.id).where(Organization.region.in_(own_region))
    open_to_specialty = (
        Appeal.consultant.is_null() & (Appeal.specialty == staff.specialty_id) & Appeal.post.in_(region_posts)
    )
    return (Appeal.deleted == False) & (mine | open_to_specialty)  # noqa: E712


def appeals_visible_to(staff: Staff) -> Expression:
    """The condition on Appeal of what this staff member's pages show (the FHIR API reads it too)."""
    return _visible_to(staff)  # type: ignore[no-any-return]


def queues(staff: Staff, now: datetime | None = None, filters: QueueFilter | None = None) -> Queues:
    """The consultant's lists; without `filters`, those of the request's GET parameters, if any."""
    now = now or utcnow()
    if filters is None and has_request_context():
        filters = QueueFilter.from_args(request.args, user_timezone())
    rows = (
        Appeal.select(Appeal, Patient, Organization)
        .join(Patient, on=(Appeal.patient == Patient.id))
        .switch(Appeal)
        .join(Organization, JOIN.INNER, on=(Appeal.post == Organization.id))
        .where(_visible_to(staff) & (Appeal.status != AppealStatus.CANCELLED))
        .order_by(Appeal.due_at)
    )
    narrowed = filters.where() if filters is not None else None
    if narrowed is not None:
        rows = rows.where(narrowed)
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


def can_see(staff: Staff, appeal_id: str) -> bool:
    """Whether the appeal (and so its chat) is one this staff member may open."""
    return bool(Appeal.select(Appeal.id).where((Appeal.id == appeal_id) & _visible_to(staff)).exists())


def take(staff: Staff, appeal_id: str, now: datetime | None = None) -> Appeal:
    """«Взять в работу», re-reading the appeal inside the transaction."""
    now = now or utcnow()
    with database.atomic():
        appeal = visible_appeal(staff, appeal_id)
        earliest = appeal.can_take_from()
        if appeal.status == AppealStatus.NEW and earliest is not None and now < earliest:
            # The model's refusal names the time in UTC; the consultant reads it in their own zone.
            local = to_local(earliest)
            raise LifecycleError(
                N_("Обращение можно взять в работу не ранее чем за 15 минут до приёма (с %(time)s)"),
                time=f"{local:%d.%m.%Y %H:%M} ({user_timezone()})" if local else "",
            )
        appeal.take_in_work(staff, now)
    return appeal


def send_protocol(
    staff: Staff,
    appeal_id: str,
    *,
    anamnesis: str,
    recommendations: str,
    additional_recommendations: str,
    diagnoses: Sequence[Sequence[str]],
    files: Sequence[FileStorage] | None = None,
) -> Protocol:
    """«Отправить протокол»: protocol, diagnoses, files, the closed status and the PDF, all or nothing.

    Each diagnosis is (code, title, role) or (code, title); see :func:`check_diagnoses`.
    Without ``files``, the files come from the page's «protocol_files» input, if any.
    """
    blobs: BlobStore = current_app.extensions["blobs"]
    # Codes are checked against the national МКБ-10: only codes in force, most detailed level.
    cleaned = check_diagnoses(diagnoses)
    if files is None and has_request_context():
        files = request.files.getlist("protocol_files")
    checked_files = check_protocol_files(files or [])
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
