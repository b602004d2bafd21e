"""The appeal's chat at the post: stored here at once, sent to the centre by the sync.

The chat itself (messages, files, storing one) is web/chat.py, shared with central.
"""

from __future__ import annotations

from domain.models import Appeal, AppealStatus, Attachment, AttachmentKind, ChatMessage, Staff
from web.chat import Upload, file_of, files_of
from web.chat import post_message as store_message

from ..appeals.service import post_appeal

__all__ = ["Upload", "FILE_KINDS", "may_write", "post_message", "appeal_files", "appeal_file"]

#: Files of the appeal, of its chat and of the protocol (the protocol's PDFs have their own buttons).
FILE_KINDS = (AttachmentKind.FILE, AttachmentKind.PHOTO, AttachmentKind.PROTOCOL_FILE)


def may_write(appeal: Appeal) -> bool:
    """The post writes while the appeal is in work (as far as this node knows)."""
    return appeal.status == AppealStatus.IN_WORK


def post_message(author: Staff, appeal_id: str, text: str, upload: Upload | None = None) -> ChatMessage:
    """The feldsher's message, stored locally (no link needed); nothing is stored if refused."""
    return store_message(author, lambda: post_appeal(appeal_id), text, upload)


def appeal_files(appeal: Appeal) -> list[Attachment]:
    """Files of the appeal, its chat and its protocol, from both sides, oldest first."""
    return files_of(appeal, FILE_KINDS)


def appeal_file(appeal_id: str, attachment_id: str) -> Attachment:
    """A file of one of this post's appeals (404 otherwise)."""
    return file_of(post_appeal(appeal_id), attachment_id)
