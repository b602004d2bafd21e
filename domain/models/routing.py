"""«Маршрутизация»: referrals (направления) and support requests from posts and consultants."""

from __future__ import annotations

from datetime import date

from peewee import CharField, DateField, DateTimeField, ForeignKeyField, TextField

from i18n import N_
from sync.clock import utcnow
from sync.model import SyncModel

from ..errors import ValidationError
from ..validators import PHONE_MAX_LENGTH
from .appeals import Appeal
from .directory import Organization, Specialty, Staff
from .ownership import OwnedByPost
from .patients import Patient

__all__ = ["Referral", "ReferralStatus", "SupportRequest", "SupportKind"]


class ReferralStatus:
    ACTIVE = "active"
    USED = "used"
    CANCELLED = "cancelled"
    ALL = (ACTIVE, USED, CANCELLED)


class Referral(OwnedByPost, SyncModel):
    """A направление to a specialty or a chosen doctor, valid until a date or indefinitely."""

    POST_PATH = ("post",)

    patient = ForeignKeyField(Patient, backref="referrals")
    post = ForeignKeyField(Organization, backref="referrals")  # the patient's post
    author = ForeignKeyField(Staff, backref="referrals_issued")
    specialty = ForeignKeyField(Specialty, backref="referrals")
    consultant = ForeignKeyField(Staff, null=True, backref="referrals")
    valid_until = DateField(null=True)  # None: бессрочно
    diagnoses = TextField(default="")
    justification = TextField(default="")
    source_appeal = ForeignKeyField(Appeal, null=True, backref="referrals")
    status = CharField(max_length=16, default=ReferralStatus.ACTIVE)
    created_at = DateTimeField(default=utcnow)

    patient_id: str
    post_id: str
    consultant_id: str | None
    specialty_id: str
    source_appeal_id: str | None

    def validate(self) -> None:
        if self.status not in ReferralStatus.ALL:
            raise ValidationError(N_("Неизвестный статус направления"), field="status")
        if not (self.justification or "").strip():
            raise ValidationError(N_("Укажите обоснование направления"), field="justification")

    def is_valid_on(self, day: date) -> bool:
        return self.status == ReferralStatus.ACTIVE and (self.valid_until is None or day <= self.valid_until)


class SupportKind:
    CALLBACK = "callback"  # «Заказать звонок»
    FEEDBACK = "feedback"  # «Оставить сообщение»
    ALL = (CALLBACK, FEEDBACK)


class SupportRequest(OwnedByPost, SyncModel):
    """«Нужна помощь»: a callback request or a feedback message, queued even offline."""

    POST_PATH = ("organization",)

    kind = CharField(max_length=16)
    author = ForeignKeyField(Staff, backref="support_requests")
    organization = ForeignKeyField(Organization, backref="support_requests")
    phone = CharField(max_length=PHONE_MAX_LENGTH, default="")
    text = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    status = CharField(max_length=16, default="new")  # new → done (by support staff)
    handled_by = ForeignKeyField(Staff, null=True, backref="support_handled")
    handled_at = DateTimeField(null=True)

    organization_id: str

    def validate(self) -> None:
        if self.kind not in SupportKind.ALL:
            raise ValidationError(N_("Неизвестный тип обращения в поддержку"), field="kind")
        if not (self.text or "").strip():
            raise ValidationError(N_("Опишите, что случилось"), field="text")
