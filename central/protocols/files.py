"""Files a consultant adds to the protocol (PDF, DOC, XLSX…): checked first, stored with it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from werkzeug.datastructures import FileStorage

from domain.errors import ValidationError
from domain.models import Appeal, Attachment, AttachmentKind, Staff
from i18n import N_
from sync.blobs import BlobStore
from web.uploads import DOC, DOCX, PDF, XLS, XLSX, FileKind, check_upload

__all__ = ["ProtocolFile", "check_protocol_files", "attach_protocol_files", "protocol_files", "ALLOWED"]

#: «При необходимости можно также добавить файлы в формате PDF, DOC, XLSX» (and their kin).
ALLOWED = (PDF, DOC, DOCX, XLS, XLSX)
MAX_FILES = 10


@dataclass(frozen=True)
class ProtocolFile:
    """An uploaded file that passed the checks, not yet stored."""

    filename: str
    data: bytes
    kind: FileKind


def check_protocol_files(uploads: Iterable[FileStorage]) -> list[ProtocolFile]:
    """Read and check every chosen file; one bad file refuses them all, naming it."""
    checked = []
    for upload in uploads:
        if not upload or not (upload.filename or "").strip():
            continue  # the file input left empty
        name = str(upload.filename).replace("\\", "/").rsplit("/", 1)[-1].strip()[:255]
        data = upload.read()
        kind = check_upload(data, name)
        if kind not in ALLOWED:
            raise ValidationError(
                N_("Файл «%(name)s» не подходит для протокола: прикрепите PDF, DOC, DOCX, XLS или XLSX"),
                field="protocol_files",
                name=name,
            )
        checked.append(ProtocolFile(name, data, kind))
    if len(checked) > MAX_FILES:
        raise ValidationError(
            N_("К протоколу можно приложить не больше %(count)s файлов"),
            field="protocol_files",
            count=MAX_FILES,
        )
    return checked


def attach_protocol_files(appeal: Appeal, staff: Staff, files: Iterable[ProtocolFile]) -> list[Attachment]:
    """Store the checked files with the appeal (bytes first, then the records that sync)."""
    blobs: BlobStore = current_app.extensions["blobs"]
    stored = []
    for file in files:
        sha = blobs.put(file.data)
        stored.append(
            Attachment.create(
                appeal=appeal,
                kind=AttachmentKind.PROTOCOL_FILE,
                filename=file.filename,
                content_type=file.kind.content_type,
                size=len(file.data),
                sha256=sha,
                uploaded_by=staff,
            )
        )
    return stored


def protocol_files(appeal: Appeal) -> list[Attachment]:
    """The files the consultant added to the appeal's protocol, in the order they were added."""
    return list(
        Attachment.live()
        .where((Attachment.appeal == appeal.id) & (Attachment.kind == AttachmentKind.PROTOCOL_FILE))
        .order_by(Attachment.created_at, Attachment.filename)
    )
