"""The appeal's chat at central: which appeals a consultant may read, and who writes.

The chat itself (messages, files, storing one) is web/chat.py, shared with the post.
"""

from __future__ import annotations

from domain.errors import LifecycleError
from domain.models import Appeal, AppealStatus, Attachment, AttachmentKind, ChatMessage, Staff
from i18n import N_
from web.chat import Upload, file_of, files_of
from web.chat import post_message as store_message

from ..appeals.service import visible_appeal

__all__ = ["Upload", "FILE_KINDS", "may_write", "post_message", "appeal_files", "appeal_file"]

#: Files of the appeal itself and of its chat (the protocol's files are shown with the protocol).
FILE_KINDS = (AttachmentKind.FILE, AttachmentKind.PHOTO)


def may_write(staff: Staff | None, appeal: Appeal) -> bool:
    """Only the consultant who took the appeal writes, and only while it is in work."""
    return staff is not None and appeal.status == AppealStatus.IN_WORK and appeal.taken_by_id == staff.id


def post_message(staff: Staff, appeal_id: str, text: str, upload: Upload | None = None) -> ChatMessage:
    """A consultant's message, with a file if one is given; nothing is stored if it is refused."""

    def only_the_taker(appeal: Appeal) -> None:
        if appeal.taken_by_id != staff.id:
            raise LifecycleError(N_("Писать в чат может консультант, взявший обращение в работу"))

    return store_message(
        staff, lambda: visible_appeal(staff, appeal_id), text, upload, authorize=only_the_taker
    )


def appeal_files(appeal: Appeal) -> list[Attachment]:
    """Files of the appeal and its chat, from both sides, oldest first."""
    return files_of(appeal, FILE_KINDS)


def appeal_file(staff: Staff, appeal_id: str, attachment_id: str) -> Attachment:
    """A file of an appeal this consultant may open (404 otherwise)."""
    return file_of(visible_appeal(staff, appeal_id), attachment_id)
