"""Files a consultant attaches when booking a consultation: «результаты инструментальных и
лабораторных исследований», filed with the new appeal like a post's files.

A file is checked by its content and *staged* before the review step: its bytes go to the
blob store and the page carries a signed reference to them, so the review needs no second
upload and a page cannot name bytes it was not given. The `Attachment` records are made
only by the booking's transaction (:func:`central.routing.booking.book`): a refused booking
leaves no record behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import FileStorage

from domain.errors import ValidationError
from domain.models import Appeal, Attachment, AttachmentKind, Staff
from i18n import N_
from sync.blobs import BlobStore
from web.uploads import MAX_UPLOAD, check_upload

__all__ = ["StagedFile", "MAX_FILES", "stage", "update", "carry", "carried", "attach"]

#: More would not be read during one consultation; each file is at most `MAX_UPLOAD` bytes.
MAX_FILES = 10
_SALT = "faplink.central.booking-files"


@dataclass(frozen=True)
class StagedFile:
    """A checked file whose bytes are in the blob store, not yet an attachment."""

    sha256: str
    filename: str
    content_type: str
    size: int


def _blobs() -> BlobStore:
    blobs: BlobStore = current_app.extensions["blobs"]
    return blobs


def _name(filename: str) -> str:
    return (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:255]


def stage(uploads: Iterable[tuple[str, bytes]], already: Sequence[StagedFile] = ()) -> list[StagedFile]:
    """Check every chosen file, then keep their bytes; one bad file refuses them all, naming it.

    ``uploads`` are (file name, bytes) pairs; the result is ``already`` staged files followed
    by the new ones (a file chosen twice is kept once).
    """
    checked = [(name, data, check_upload(data, name)) for name, data in ((_name(n), d) for n, d in uploads)]
    if len(already) + len(checked) > MAX_FILES:
        raise ValidationError(
            N_("К обращению можно приложить не больше %(count)s файлов"), field="files", count=MAX_FILES
        )
    staged = list(already)
    known = {f.sha256 for f in staged}
    for name, data, kind in checked:  # bytes only once every file passed
        sha = _blobs().put(data)
        if sha not in known:
            staged.append(StagedFile(sha, name, kind.content_type, len(data)))
            known.add(sha)
    return staged


def update(
    attached: Sequence[StagedFile], *, dropped: Iterable[str], uploads: Iterable[FileStorage]
) -> list[StagedFile]:
    """A booking form's files after «Далее»: those staged before, less the ones marked «Убрать»,
    then the new uploads (an empty file input sends nothing)."""
    gone = set(dropped)
    kept = [f for f in attached if f.sha256 not in gone]
    return stage(((u.filename or "", u.read()) for u in uploads if u and u.filename), already=kept)


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key or "", salt=_SALT)


def carry(files: Sequence[StagedFile], staff: Staff) -> str:
    """The staged files as the page carries them to the next step: signed for this consultant."""
    return _signer().dumps({"staff": staff.id, "files": [asdict(f) for f in files]}) if files else ""


def carried(token: str, staff: Staff) -> list[StagedFile]:
    """The staged files a page carried back, each still in the blob store."""
    if not (token or "").strip():
        return []
    try:
        payload = _signer().loads(token)
        if payload["staff"] != staff.id:
            raise BadSignature("another consultant's files")
        files = [
            StagedFile(str(f["sha256"]), _name(str(f["filename"])), str(f["content_type"]), int(f["size"]))
            for f in payload["files"]
        ]
    except (BadSignature, KeyError, TypeError, ValueError):
        raise ValidationError(N_("Список файлов повреждён: прикрепите файлы снова"), field="files") from None
    for file in files:
        if not _blobs().has(file.sha256) or not 0 < file.size <= MAX_UPLOAD:
            raise ValidationError(
                N_("Файл «%(name)s» не найден: прикрепите его снова"), field="files", name=file.filename
            )
    return files


def attach(appeal: Appeal, staff: Staff, files: Iterable[StagedFile]) -> list[Attachment]:
    """File the staged files with the appeal (inside the booking's transaction)."""
    return [
        Attachment.create(
            appeal=appeal,
            kind=AttachmentKind.FILE,
            filename=f.filename,
            content_type=f.content_type,
            size=f.size,
            sha256=f.sha256,
            uploaded_by=staff,
        )
        for f in files
    ]
