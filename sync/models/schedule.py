"""Consultants' appointment slots, owned by central and synced to the posts."""

from __future__ import annotations

from datetime import datetime, timedelta

from peewee import BooleanField, DateTimeField, Expression, ForeignKeyField

from ..errors import N_, ValidationError
from .base import SyncModel
from .directory import Staff, region_centres

__all__ = ["Slot"]


class Slot(SyncModel):
    """One bookable consultation time of one consultant (UTC)."""

    consultant = ForeignKeyField(Staff, backref="slots")
    starts_at = DateTimeField(index=True)
    ends_at = DateTimeField()
    active = BooleanField(default=True)

    consultant_id: str

    @classmethod
    def scope_for_post(cls, organization_id: str) -> Expression:
        return cls.consultant.in_(
            Staff.select(Staff.id).where(Staff.organization.in_(region_centres(organization_id)))
        )

    def validate(self) -> None:
        if self.ends_at <= self.starts_at:
            raise ValidationError(N_("Слот должен заканчиваться позже, чем начинается"), field="ends_at")

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    def is_past(self, now: datetime) -> bool:
        return self.starts_at <= now
