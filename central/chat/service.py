"""The appeal's chat at central: who may read and write it, its messages and files."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort

from central.appeals.service import visible_appeal
from faplink.web.uploads import check_upload, store_file
from sync.db import database
from sync.errors import N_, LifecycleError, ValidationError
from sync.models import Appeal, AppealStatus, Attachment, AttachmentKind, ChatMessage, Staff

__all__ = [
    "Upload",
    "CHAT_STATUSES",
    "FILE_KINDS",
    "chat_shown",
    "may_write",
    "messages",
    "post_message",
    "appeal_files",
    "appeal_file",
]

#: The chat is open while the appeal is in work and read-only once it is closed.
CHAT_STATUSES = (AppealStatus.IN_WORK, AppealStatus.CLOSED)
#: Files of the appeal itself and of its chat (the protocol's files are shown with the protocol).
FILE_KINDS = (AttachmentKind.FILE, AttachmentKind.PHOTO)


@dataclass(frozen=True)
class Upload:
    """A file as it came from a form or the API."""

    filename: str
    data: bytes


def chat_shown(appeal: Appeal) -> bool:
    return appeal.status in CHAT_STATUSES or ChatMessage.live().where(ChatMessage.appeal == appeal).exists()


def may_write(staff: Staff | None, appeal: Appeal) -> bool:
    """Only the consultant who took the appeal writes, and only while it is in work."""
    return staff is not None and appeal.status == AppealStatus.IN_WORK and appeal.taken_by_id == staff.id


def messages(appeal: Appeal) -> list[ChatMessage]:
    """The chat in the order it was written."""
    return list(
        ChatMessage.live()
        .where(ChatMessage.appeal == appeal)
        .order_by(ChatMessage.hlc)  # causal order; sent_at has whole seconds only
    )


def post_message(staff: Staff, appeal_id: str, text: str, upload: Upload | None = None) -> ChatMessage:
    """A consultant's message, with a file if one is given; nothing is stored if it is refused."""
    text = (text or "").strip()
    kind = check_upload(upload.data, upload.filename) if upload is not None else None
    if not text and upload is None:
        raise ValidationError(N_("Сообщение пустое"), field="text")
    with database.atomic():
        appeal = visible_appeal(staff, appeal_id)
        if appeal.status != AppealStatus.IN_WORK:
            raise LifecycleError(N_("Писать в чат можно, пока обращение в работе"))
        if appeal.taken_by_id != staff.id:
            raise LifecycleError(N_("Писать в чат может консультант, взявший обращение в работу"))
        attachment = None
        if upload is not None and kind is not None:
            attachment = store_file(appeal, staff, upload.filename, upload.data, kind)
        return ChatMessage.create(appeal=appeal, author=staff, text=text, attachment=attachment)


def appeal_files(appeal: Appeal) -> list[Attachment]:
    """Files of the appeal and its chat, from both sides, oldest first."""
    return list(
        Attachment.live()
        .where((Attachment.appeal == appeal) & Attachment.kind.in_(FILE_KINDS))
        .order_by(Attachment.created_at, Attachment.id)
    )


def appeal_file(staff: Staff, appeal_id: str, attachment_id: str) -> Attachment:
    """A file of an appeal this consultant may open (404 otherwise)."""
    appeal = visible_appeal(staff, appeal_id)
    attachment = Attachment.get_or_none(
        (Attachment.id == attachment_id) & (Attachment.appeal == appeal) & (Attachment.deleted == False)  # noqa: E712
    )
    if attachment is None:
        abort(404)
    return attachment
