"""Append-only records of a consultation: chat messages and call logs."""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from i18n import N_
from sync.clock import utcnow
from sync.model import SyncModel

from ..errors import ValidationError
from .appeals import Appeal, Attachment
from .directory import Staff
from .ownership import OwnedByPost

__all__ = ["ChatMessage", "CallLog", "CallMode", "CallOutcome"]


class ChatMessage(OwnedByPost, SyncModel):
    """A message in an appeal's chat, from the consultant or the post; never edited."""

    POST_PATH = ("appeal", "post")

    appeal = ForeignKeyField(Appeal, backref="messages")
    author = ForeignKeyField(Staff, backref="messages")
    text = TextField(default="")
    attachment = ForeignKeyField(Attachment, null=True, backref="messages")
    sent_at = DateTimeField(default=utcnow, index=True)

    appeal_id: str
    author_id: str
    attachment_id: str | None

    def validate(self) -> None:
        if not (self.text or "").strip() and not self.attachment_id:
            raise ValidationError(N_("Сообщение пустое"), field="text")
        if len(self.text or "") > 10_000:
            raise ValidationError(N_("Сообщение слишком длинное"), field="text")


class CallMode:
    VIDEO = "video"
    AUDIO = "audio"
    PHONE = "phone"
    ALL = (VIDEO, AUDIO, PHONE)


class CallOutcome:
    COMPLETED = "completed"
    DECLINED = "declined"
    MISSED = "missed"
    FAILED = "failed"
    ALL = (COMPLETED, DECLINED, MISSED, FAILED)


class CallLog(OwnedByPost, SyncModel):
    """Who called whom about an appeal, how, when, for how long, and how it ended."""

    POST_PATH = ("appeal", "post")

    appeal = ForeignKeyField(Appeal, backref="calls")
    caller = ForeignKeyField(Staff, backref="calls")
    mode = CharField(max_length=8)
    started_at = DateTimeField(default=utcnow)
    ended_at = DateTimeField(null=True)
    duration_s = IntegerField(default=0)
    outcome = CharField(max_length=16)
    detail = TextField(default="")

    appeal_id: str

    def validate(self) -> None:
        if self.mode not in CallMode.ALL:
            raise ValidationError(N_("Неизвестный вид звонка"), field="mode")
        if self.outcome not in CallOutcome.ALL:
            raise ValidationError(N_("Неизвестный исход звонка"), field="outcome")
