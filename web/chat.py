"""The appeal's chat as both sides keep it: its messages, their files, and storing a new one.

Central and the post differ only in which appeals a user may open and who may
write (central/chat/service.py, node/chat/service.py); everything else lives
here, and the chat section of both appeal pages is one template,
``web/_appeal_chat.html``. The template asks each side, through template
globals its chat blueprint registers, four things: ``chat_may_write(appeal)``,
``chat_delivered(message)`` (has it reached the centre?),
``chat_preview_url(attachment)`` (an in-page viewer, or None) and
``chat_side()`` ("centre" or "post", for whose messages to mark).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, current_app, render_template, request
from flask_babel import gettext as _

from domain.errors import LifecycleError, NotFoundError, ValidationError
from domain.models import Appeal, AppealStatus, Attachment, ChatMessage, Staff
from i18n import N_
from sync.blobs import BlobStore
from sync.db import database
from web.uploads import check_upload, store_file

__all__ = [
    "Upload",
    "CHAT_STATUSES",
    "chat_shown",
    "messages",
    "post_message",
    "files_of",
    "file_of",
    "file_download",
    "message_from_request",
    "init_chat",
]

#: The chat is open while the appeal is in work and read-only once it is closed.
CHAT_STATUSES = (AppealStatus.IN_WORK, AppealStatus.CLOSED)


@dataclass(frozen=True)
class Upload:
    """A file as it came from a form or the API."""

    filename: str
    data: bytes


def chat_shown(appeal: Appeal) -> bool:
    """In work, closed, or holding messages already (a cancelled appeal keeps what was said)."""
    return appeal.status in CHAT_STATUSES or ChatMessage.live().where(ChatMessage.appeal == appeal).exists()


def messages(appeal: Appeal) -> list[ChatMessage]:
    """The chat in the order it was written."""
    return list(
        ChatMessage.live()
        .where(ChatMessage.appeal == appeal)
        .order_by(ChatMessage.hlc)  # causal order; sent_at has whole seconds only
    )


def post_message(
    author: Staff,
    appeal_of: Callable[[], Appeal],
    text: str,
    upload: Upload | None = None,
    *,
    authorize: Callable[[Appeal], None] | None = None,
) -> ChatMessage:
    """A message with a file if one is given; nothing is stored if it is refused.

    `appeal_of` finds the appeal as this side allows (404 otherwise); `authorize`
    raises if this author may not write in it although it is in work."""
    text = (text or "").strip()
    kind = check_upload(upload.data, upload.filename) if upload is not None else None
    if not text and upload is None:
        raise ValidationError(N_("Сообщение пустое"), field="text")
    with database.atomic():
        appeal = appeal_of()
        if appeal.status != AppealStatus.IN_WORK:
            raise LifecycleError(N_("Писать в чат можно, пока обращение в работе"))
        if authorize is not None:
            authorize(appeal)
        attachment = None
        if upload is not None and kind is not None:
            attachment = store_file(appeal, author, upload.filename, upload.data, kind)
        return ChatMessage.create(appeal=appeal, author=author, text=text, attachment=attachment)


def files_of(appeal: Appeal, kinds: tuple[str, ...]) -> list[Attachment]:
    """The appeal's files of these kinds, from both sides, oldest first."""
    return list(
        Attachment.live()
        .where((Attachment.appeal == appeal) & Attachment.kind.in_(kinds))
        .order_by(Attachment.created_at, Attachment.id)
    )


def file_of(appeal: Appeal, attachment_id: str) -> Attachment:
    """A file of this appeal (404 if it has none by that id)."""
    attachment = Attachment.get_or_none(
        (Attachment.id == attachment_id) & (Attachment.appeal == appeal) & (Attachment.deleted == False)  # noqa: E712
    )
    if attachment is None:
        raise NotFoundError()
    return attachment


def message_from_request() -> tuple[str, Upload | None]:
    """The text and file of a message sent as JSON ({"text": …}) or as a form (text, file)."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ValidationError(N_("Ожидался JSON-объект в теле запроса"))
        return str(data.get("text", "")), None
    file = request.files.get("file")
    upload = Upload(file.filename, file.read()) if file is not None and file.filename else None
    return request.form.get("text", ""), upload


def file_download(attachment: Attachment, not_here: str) -> Any:
    """The file as a download, or a page saying (`not_here`) that its bytes have not come yet."""
    blobs: BlobStore = current_app.extensions["blobs"]
    if not blobs.has(attachment.sha256):
        return render_template("web/error.html", title=_("Файл ещё не получен"), message=not_here), 404
    return Response(
        blobs.read(attachment.sha256),
        mimetype=attachment.content_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(attachment.filename)}"},
    )


def _file_here(attachment: Attachment) -> bool:
    """Whether the file's bytes have arrived (the record travels before the file)."""
    blobs: BlobStore = current_app.extensions["blobs"]
    return blobs.has(attachment.sha256)


def init_chat(app: Flask) -> None:
    """What the chat template asks alike at both sides."""
    app.add_template_global(chat_shown, "chat_shown")
    app.add_template_global(messages, "chat_messages")
    app.add_template_global(_file_here, "chat_file_here")
