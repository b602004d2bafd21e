"""Consultants' appointment slots, owned by central and synced to the posts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from peewee import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    Expression,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from i18n import N_
from sync.model import SyncModel

from ..errors import ValidationError
from .directory import Staff, readers_of_centre, region_centres

__all__ = ["Slot", "ScheduleTemplate"]


def centre_consultants(organization_id: str) -> Any:
    """Staff of the consultation centres in the post's region: whose schedules it sees."""
    return Staff.select(Staff.id).where(Staff.organization.in_(region_centres(organization_id)))


def _readers_of_timetable(model: Any, ids: list[str]) -> Any:
    """(row id, organisation) for rows of centre consultants: every organisation of the region."""
    query, reader = readers_of_centre(model.select(model.id).join(Staff), Staff.organization)
    return query.select_extend(reader.id).where(model.id.in_(ids))


class ScheduleTemplate(SyncModel):
    """A consultant's schedule template: days, hours and the slot cells switched on.

    Times are local to `timezone`; the slots made from it are stored in UTC.
    """

    consultant = ForeignKeyField(Staff, backref="schedule_templates")
    name = CharField(max_length=200)
    date_from = DateField()
    date_to = DateField()
    weekdays = CharField(max_length=20)  # ISO weekdays, e.g. "1,2,3,4,5"
    first_time = CharField(max_length=5)  # "09:00": the first appointment
    last_time = CharField(max_length=5)  # "16:45": the last one, 15 min before the day ends
    cells = TextField(default="[]")  # JSON list of "HH:MM" cells switched on
    slot_minutes = IntegerField(default=30)
    timezone = CharField(max_length=64, default="Europe/Moscow")
    active = BooleanField(default=False)

    consultant_id: str

    @classmethod
    def scope_for_post(cls, organization_id: str) -> Expression:
        return cls.consultant.in_(centre_consultants(organization_id))

    @classmethod
    def post_pairs(cls, ids: list[str]) -> Any:
        return _readers_of_timetable(cls, ids)


class Slot(SyncModel):
    """One bookable consultation time of one consultant (UTC)."""

    consultant = ForeignKeyField(Staff, backref="slots")
    starts_at = DateTimeField(index=True)
    ends_at = DateTimeField()
    active = BooleanField(default=True)
    template = ForeignKeyField(ScheduleTemplate, null=True, backref="slots")

    consultant_id: str
    template_id: str | None

    @classmethod
    def scope_for_post(cls, organization_id: str) -> Expression:
        return cls.consultant.in_(centre_consultants(organization_id))

    @classmethod
    def post_pairs(cls, ids: list[str]) -> Any:
        return _readers_of_timetable(cls, ids)

    def validate(self) -> None:
        if self.ends_at <= self.starts_at:
            raise ValidationError(N_("Слот должен заканчиваться позже, чем начинается"), field="ends_at")

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    def is_past(self, now: datetime) -> bool:
        return self.starts_at <= now
