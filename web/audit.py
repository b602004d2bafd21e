"""«Журнал доступа» at both apps: the routes say, explicitly, what a person opened.

A route that shows or hands out personal data calls one of these after it has found the
record (so a refused or missing record leaves no row) and before it answers:

    audit.viewed(appeal)                          # a page or an API answer
    audit.viewed(attachment, AccessAction.DOWNLOAD)
    audit.searched(audit.query_fields(query), found)
    audit.login_failed(login_name)

Who is the logged-in person (`g.staff`), where is the post (the node's own post) or the
person's centre and the request's address. A searched value is never stored, only which
fields the search used; a failed login stores a keyed hash of the name, never the password.
Writing the row is part of answering: if it fails, the request fails.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any

from flask import current_app, g, has_app_context, has_request_context, request

from domain.models import (
    AccessAction,
    AccessEntry,
    Appeal,
    Attachment,
    AttachmentKind,
    Exam,
    Patient,
    Protocol,
    Staff,
    append_entry,
)
from sync.model import SyncModel

__all__ = [
    "AccessAction",
    "record",
    "viewed",
    "protocol_downloaded",
    "searched",
    "exported",
    "logged_in",
    "login_failed",
    "login_hash",
    "query_fields",
    "patient_of",
]

#: At most this many ids of a search's results or an export's records in one row (the
#: FHIR export writes a row per batch of 500).
MAX_RECORDS = 1000
_NOBODY: Any = object()


def patient_of(subject: SyncModel) -> str:
    """The id of the patient whose data `subject` is ("" if it is nobody's)."""
    if isinstance(subject, Patient):
        return subject.id
    if isinstance(subject, Appeal | Exam):
        return subject.patient_id
    if isinstance(subject, Protocol):
        return str(Appeal.select(Appeal.patient).where(Appeal.id == subject.appeal_id).scalar() or "")
    if isinstance(subject, Attachment):
        if subject.appeal_id:
            return str(Appeal.select(Appeal.patient).where(Appeal.id == subject.appeal_id).scalar() or "")
        if subject.exam_id:
            return str(Exam.select(Exam.patient).where(Exam.id == subject.exam_id).scalar() or "")
        return ""
    return str(getattr(subject, "patient_id", "") or "")


def record(
    action: str,
    *,
    kind: str = "",
    record_id: str = "",
    patient: str = "",
    records: Iterable[str] = (),
    detail: str = "",
    staff: Staff | None = _NOBODY,
    role: str = "",
    login: str = "",
) -> AccessEntry:
    """Append one row to this app's chain: `staff` defaults to the logged-in person."""
    if staff is _NOBODY:
        staff = getattr(g, "staff", None) if has_request_context() else None
    identity = current_app.extensions.get("identity") if has_app_context() else None
    # A node writes its own post; central the person's centre.
    organization = identity.organization_id if identity is not None else None
    if organization is None and staff is not None:
        organization = staff.organization_id
    listed = list(dict.fromkeys(r for r in records if r))[:MAX_RECORDS]
    return append_entry(
        staff=staff.id if staff is not None else None,
        role=(staff.role if staff is not None else role)[:16],
        organization=organization,
        address=(request.remote_addr or "")[:64] if has_request_context() else "",
        action=action,
        kind=kind,
        record=record_id,
        patient=patient,
        records=" ".join(listed),
        login_hash=login_hash(login) if login else "",
        detail=detail[:200],
    )


def viewed(subject: SyncModel, action: str = AccessAction.VIEW, *, detail: str = "") -> AccessEntry:
    """The person opened `subject` (a patient, an appeal, a protocol, a file, an exam…);
    a file's row says what the file is (file, photo, consent, protocol…) unless told."""
    if not detail and isinstance(subject, Attachment):
        detail = subject.kind
    return record(
        action,
        kind=subject._meta.table_name,
        record_id=subject.id,
        patient=patient_of(subject),
        detail=detail,
    )


def protocol_downloaded(appeal: Appeal) -> AccessEntry:
    """The protocol's PDF was handed out: its file once central has made it, else the appeal."""
    return viewed(appeal.protocol_pdf() or appeal, AccessAction.DOWNLOAD, detail=AttachmentKind.PROTOCOL_PDF)


def searched(fields: Iterable[str], found: Iterable[SyncModel], *, kind: str = "patient") -> AccessEntry:
    """A search by these fields (never their values) showed these records."""
    shown = list(found)
    patients = {patient_of(item) for item in shown}
    return record(
        AccessAction.SEARCH,
        kind=kind,
        patient=next(iter(patients)) if len(patients) == 1 else "",
        records=(item.id for item in shown),
        detail=",".join(sorted(set(fields))),
    )


def exported(
    kind: str,
    ids: Iterable[str],
    *,
    action: str = AccessAction.EXPORT,
    patient: str = "",
    detail: str = "",
    staff: Staff | None = _NOBODY,
    role: str = "",
) -> AccessEntry:
    """Records handed out by an API or in bulk (FHIR reads, searches, bundles, the export)."""
    listed = list(ids)
    return record(
        action,
        kind=kind,
        patient=patient,
        staff=staff,
        record_id=listed[0] if len(listed) == 1 else "",
        records=listed,
        detail=detail,
        role=role,
    )


def logged_in(staff: Staff) -> AccessEntry:
    return record(AccessAction.LOGIN, staff=staff)


def login_failed(login: str, staff: Staff | None = None, *, detail: str = "") -> AccessEntry:
    """A refused login: the name only as a keyed hash; `staff` if the name is someone's."""
    return record(AccessAction.LOGIN_FAILED, staff=staff, login=login or "-", detail=detail)


def login_hash(login: str) -> str:
    """The same name gives the same hash in one app (so repeated attempts show), but a
    password typed into the name field cannot be recovered by hashing guesses without
    the app's secret key."""
    secret = current_app.config.get("SECRET_KEY") if has_app_context() else None
    key = (secret if isinstance(secret, bytes) else str(secret or "faplink").encode())
    return hmac.new(key, (login or "").strip().lower().encode(), hashlib.sha256).hexdigest()


def query_fields(query: str) -> list[str]:
    """Which field a patient search's text stands for, by its shape (never the text)."""
    text = (query or "").strip()
    digits = re.sub(r"\D", "", text)
    if not text:
        return []
    if not digits:
        return ["last_name"]
    fields = []
    if len(digits) == 16:
        fields.append("enp")
    if len(digits) == 11:
        fields.append("snils")
    if len(digits) in (10, 11) or text.startswith("+") or len(digits) > 10:
        fields.append("phone")
    return fields or ["number"]
