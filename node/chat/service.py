"""The appeal's chat at the post: stored here at once, sent to the centre by the sync."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort

from faplink.web.uploads import check_upload, store_file
from sync.db import database
from sync.errors import N_, LifecycleError, ValidationError
from sync.models import Appeal, AppealStatus, Attachment, AttachmentKind, ChatMessage, Staff

from ..appeals.service import post_appeal

__all__ = [
    "Upload",
    "FILE_KINDS",
    "chat_shown",
    "may_write",
    "messages",
    "post_message",
    "appeal_files",
    "appeal_file",
]

#: Files of the appeal, of its chat and of the protocol (the protocol's PDFs have their own buttons).
FILE_KINDS = (AttachmentKind.FILE, AttachmentKind.PHOTO, AttachmentKind.PROTOCOL_FILE)


@dataclass(frozen=True)
class Upload:
    """A file as it came from a form or the API."""

    filename: str
    data: bytes


def chat_shown(appeal: Appeal) -> bool:
    return appeal.status in (AppealStatus.IN_WORK, AppealStatus.CLOSED) or (
        ChatMessage.live().where(ChatMessage.appeal == appeal).exists()
    )


def may_write(appeal: Appeal) -> bool:
    """The post writes while the appeal is in work (as far as this node knows)."""
    return appeal.status == AppealStatus.IN_WORK


def messages(appeal: Appeal) -> list[ChatMessage]:
    return list(
        ChatMessage.live()
        .where(ChatMessage.appeal == appeal)
        .order_by(ChatMessage.hlc)  # causal order; sent_at has whole seconds only
    )


def post_message(author: Staff, appeal_id: str, text: str, upload: Upload | None = None) -> ChatMessage:
    """The feldsher's message, stored locally (no link needed); nothing is stored if refused."""
    text = (text or "").strip()
    kind = check_upload(upload.data, upload.filename) if upload is not None else None
    if not text and upload is None:
        raise ValidationError(N_("Сообщение пустое"), field="text")
    with database.atomic():
        appeal = post_appeal(appeal_id)
        if appeal.status != AppealStatus.IN_WORK:
            raise LifecycleError(N_("Писать в чат можно, пока обращение в работе"))
        attachment = None
        if upload is not None and kind is not None:
            attachment = store_file(appeal, author, upload.filename, upload.data, kind)
        return ChatMessage.create(appeal=appeal, author=author, text=text, attachment=attachment)


def appeal_files(appeal: Appeal) -> list[Attachment]:
    """Files of the appeal and its chat, from both sides, oldest first."""
    return list(
        Attachment.live()
        .where((Attachment.appeal == appeal) & Attachment.kind.in_(FILE_KINDS))
        .order_by(Attachment.created_at, Attachment.id)
    )


def appeal_file(appeal_id: str, attachment_id: str) -> Attachment:
    appeal = post_appeal(appeal_id)
    attachment = Attachment.get_or_none(
        (Attachment.id == attachment_id) & (Attachment.appeal == appeal) & (Attachment.deleted == False)  # noqa: E712
    )
    if attachment is None:
        abort(404)
    return attachment
