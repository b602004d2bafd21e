"""Files users attach: the type is decided by the content, never by the name alone."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any

from domain.errors import ValidationError
from i18n import N_

__all__ = ["FileKind", "sniff", "check_upload", "store_file", "MAX_UPLOAD"]

#: The largest file a post may attach (it has to cross a 2G link).
MAX_UPLOAD = 20 * 1024 * 1024


@dataclass(frozen=True)
class FileKind:
    label: str
    content_type: str
    extensions: tuple[str, ...]


PDF = FileKind("PDF", "application/pdf", (".pdf",))
JPEG = FileKind("JPEG", "image/jpeg", (".jpg", ".jpeg"))
PNG = FileKind("PNG", "image/png", (".png",))
DOC = FileKind("DOC", "application/msword", (".doc",))
XLS = FileKind("XLS", "application/vnd.ms-excel", (".xls",))
DOCX = FileKind(
    "DOCX",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    (".docx",),
)
XLSX = FileKind("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",))
TXT = FileKind("TXT", "text/plain; charset=utf-8", (".txt",))

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _office_zip(data: bytes) -> FileKind | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if any(n.startswith("word/") for n in names):
        return DOCX
    if any(n.startswith("xl/") for n in names):
        return XLSX
    return None


def _text(data: bytes) -> FileKind | None:
    if b"\x00" in data:
        return None
    for encoding in ("utf-8", "cp1251"):
        try:
            data.decode(encoding)
            return TXT
        except UnicodeDecodeError:
            continue
    return None


def sniff(data: bytes, filename: str) -> FileKind | None:
    """What the bytes are, among the types a post may attach (None: something else)."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(_OLE2):
        return XLS if filename.lower().endswith(".xls") else DOC
    if data.startswith(b"PK\x03\x04"):
        return _office_zip(data)
    return _text(data)


def check_upload(data: bytes, filename: str) -> FileKind:
    """The file's kind, or a clear refusal: empty, too large, or not what its name says."""
    name = (filename or "").strip()
    if not name:
        raise ValidationError(N_("У файла нет имени"), field="file")
    if not data:
        raise ValidationError(N_("Файл «%(name)s» пустой"), field="file", name=name)
    if len(data) > MAX_UPLOAD:
        raise ValidationError(
            N_("Файл «%(name)s» больше 20 МБ: уменьшите его или разделите"), field="file", name=name
        )
    kind = sniff(data, name)
    if kind is None:
        raise ValidationError(
            N_("Файл «%(name)s» не поддерживается: прикрепите PDF, DOC, DOCX, XLS, XLSX, TXT, JPEG или PNG"),  # noqa: E501
            field="file",
            name=name,
        )
    if not name.lower().endswith(kind.extensions):
        raise ValidationError(
            N_("Файл «%(name)s» на самом деле %(kind)s: содержимое не совпадает с расширением"),
            field="file",
            name=name,
            kind=kind.label,
        )
    return kind


def store_file(
    appeal: Any,
    author: Any,
    filename: str,
    data: bytes,
    kind: FileKind | None = None,
    attachment_kind: str = "file",
) -> Any:
    """Keep a file with an appeal: checked by content (unless `kind` is known), bytes first.

    `attachment_kind` files it as something else than a plain file (`AttachmentKind`), e.g.
    the scan of a signed ИДС form.
    """
    from flask import current_app

    from domain.models import Attachment

    kind = kind or check_upload(data, filename)
    sha = current_app.extensions["blobs"].put(data)
    return Attachment.create(
        appeal=appeal,
        kind=attachment_kind,
        filename=filename.strip()[:255],
        content_type=kind.content_type,
        size=len(data),
        sha256=sha,
        uploaded_by=author,
    )
