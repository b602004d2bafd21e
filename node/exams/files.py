"""Files and webcam photos the feldsher attaches: checked by content, staged, then filed.

A file is first *staged*: its bytes are checked and put in the blob store, and
the page carries a reference (digest, name, kind). Only when the exam or the
appeal is stored does it become an `Attachment` record, in the same
transaction, so a refused form leaves no record behind.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from flask import current_app

from domain.errors import ValidationError
from domain.models import Appeal, Attachment, AttachmentKind, Exam, Staff
from i18n import N_
from sync.blobs import BlobStore
from sync.clock import utcnow
from sync.errors import MalformedError
from web.uploads import FileKind, check_upload, sniff

__all__ = [
    "StagedFile",
    "stage",
    "restage",
    "parse_staged",
    "dump_staged",
    "attach",
    "post_attachment",
    "exam_attachments",
    "photo_name",
    "read_blob",
]


@dataclass(frozen=True)
class StagedFile:
    sha256: str
    filename: str
    kind: str  # AttachmentKind.FILE or PHOTO
    content_type: str = ""
    size: int = 0


def _blobs() -> BlobStore:
    blobs: BlobStore = current_app.extensions["blobs"]
    return blobs


def _attachment_kind(wanted: str, file_kind: FileKind) -> str:
    # A "photo" must really be a picture; anything else is filed as a plain file.
    if wanted == AttachmentKind.PHOTO and file_kind.content_type in ("image/jpeg", "image/png"):
        return AttachmentKind.PHOTO
    if wanted == AttachmentKind.CONSENT:  # the signed ИДС form: a photo or a scan (PDF)
        return AttachmentKind.CONSENT
    return AttachmentKind.FILE


def stage(data: bytes, filename: str, kind: str = AttachmentKind.FILE) -> StagedFile:
    """Check the bytes (type by content, size), keep them in the blob store; a reference to them."""
    name = (filename or "").strip().replace("/", "_").replace("\\", "_")[:255]
    file_kind = check_upload(data, name)
    sha = _blobs().put(data)
    return StagedFile(sha, name, _attachment_kind(kind, file_kind), file_kind.content_type, len(data))


def restage(ref: dict[str, Any]) -> StagedFile:
    """A reference carried by a page, verified again against the stored bytes."""
    sha = str(ref.get("sha256", ""))
    name = str(ref.get("filename", ""))
    blobs = _blobs()
    try:
        present = blobs.has(sha)
    except MalformedError:
        present = False
    if not present:
        raise ValidationError(N_("Файл «%(name)s» не найден: прикрепите его снова"), field="file", name=name)
    data = blobs.read(sha)
    file_kind = check_upload(data, name)
    return StagedFile(
        sha, name, _attachment_kind(str(ref.get("kind", "")), file_kind), file_kind.content_type, len(data)
    )


def parse_staged(text: str) -> list[StagedFile]:
    """The `files` field of a wizard page (JSON list of references), each verified."""
    if not (text or "").strip():
        return []
    try:
        refs = json.loads(text)
    except ValueError:
        raise ValidationError(N_("Список файлов повреждён: прикрепите файлы снова"), field="files") from None
    if not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs):
        raise ValidationError(N_("Список файлов повреждён: прикрепите файлы снова"), field="files")
    unique: dict[str, StagedFile] = {}
    for ref in refs:
        staged = restage(ref)
        unique.setdefault(staged.sha256, staged)
    return list(unique.values())


def dump_staged(files: list[StagedFile]) -> str:
    return json.dumps([asdict(f) for f in files], ensure_ascii=False) if files else ""


def attach(
    author: Staff, staged: StagedFile, *, appeal: Appeal | None = None, exam: Exam | None = None
) -> Attachment:
    """File a staged file with an appeal and/or an exam (call inside the storing transaction)."""
    return Attachment.create(
        appeal=appeal,
        exam=exam,
        kind=staged.kind,
        filename=staged.filename,
        content_type=staged.content_type,
        size=staged.size,
        sha256=staged.sha256,
        uploaded_by=author,
    )


def exam_attachments(exam: Exam) -> list[Attachment]:
    """The exam's live files and photos, oldest first."""
    return list(Attachment.live().where(Attachment.exam == exam.id).order_by(Attachment.created_at))


def post_attachment(attachment_id: str) -> Attachment:
    """An attachment of this post's appeals or exams."""
    A = Attachment
    post = str(current_app.extensions["identity"].organization_id)
    item = A.get_or_none((A.id == attachment_id) & (A.deleted == False))  # noqa: E712
    if item is not None:
        if item.appeal_id and Appeal.get_by_id(item.appeal_id).post_id == post:
            return item
        if item.exam_id and Exam.get_by_id(item.exam_id).post_id == post:
            return item
    raise ValidationError(N_("Файл не найден на этом посту"), field="attachment")


def photo_name(now: datetime | None = None) -> str:
    from web.i18n import to_local

    local = to_local(now or utcnow())
    return f"Фото {local:%Y-%m-%d %H-%M-%S}.jpg" if local else "Фото.jpg"


def read_blob(sha: str, filename: str) -> tuple[bytes, FileKind | None]:
    """Stored bytes and what they are by content (None: a type we do not show)."""
    blobs = _blobs()
    try:
        present = blobs.has(sha)
    except MalformedError:
        present = False
    if not present:
        raise ValidationError(N_("Файл «%(name)s» ещё не получен"), field="file", name=filename)
    data = blobs.read(sha)
    return data, sniff(data, filename)
