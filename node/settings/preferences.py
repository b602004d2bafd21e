"""A feldsher's own settings at this kiosk (time zone): side-only, never replicated.

Staff records belong to central; the zone a feldsher picks at the post is kept
here and put on the logged-in staff member for each request, where the shared
`|localtime` filter reads it.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, available_timezones

from peewee import CharField, DateTimeField

from domain.errors import ValidationError
from i18n import N_
from sync.clock import utcnow
from sync.db import database
from sync.model import BaseModel

__all__ = ["StaffPreference", "ZONES", "create_tables", "timezone_for", "set_timezone"]

#: Russia's time zones, west to east, with the names people use.
ZONES: tuple[tuple[str, str], ...] = (
    ("Europe/Kaliningrad", N_("Калининград (МСК−1)")),
    ("Europe/Moscow", N_("Москва (МСК)")),
    ("Europe/Samara", N_("Самара (МСК+1)")),
    ("Asia/Yekaterinburg", N_("Екатеринбург (МСК+2)")),
    ("Asia/Omsk", N_("Омск (МСК+3)")),
    ("Asia/Novosibirsk", N_("Новосибирск (МСК+4)")),
    ("Asia/Krasnoyarsk", N_("Красноярск (МСК+4)")),
    ("Asia/Irkutsk", N_("Иркутск (МСК+5)")),
    ("Asia/Yakutsk", N_("Якутск (МСК+6)")),
    ("Asia/Vladivostok", N_("Владивосток (МСК+7)")),
    ("Asia/Magadan", N_("Магадан (МСК+8)")),
    ("Asia/Kamchatka", N_("Камчатка (МСК+9)")),
)


class StaffPreference(BaseModel):
    staff_id = CharField(primary_key=True, max_length=36)
    timezone = CharField(max_length=64)
    changed_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "node_staff_preference"


def create_tables() -> None:
    database.create_tables([StaffPreference], safe=True)


def timezone_for(staff_id: str) -> str | None:
    row = StaffPreference.get_or_none(StaffPreference.staff_id == staff_id)
    return row.timezone if row else None


def set_timezone(staff_id: str, name: str) -> None:
    if name not in {z for z, _ in ZONES} and name not in available_timezones():
        raise ValidationError(N_("Выберите часовой пояс из списка"), field="timezone")
    ZoneInfo(name)
    StaffPreference.insert(staff_id=staff_id, timezone=name, changed_at=utcnow()).on_conflict(
        conflict_target=[StaffPreference.staff_id],
        update={StaffPreference.timezone: name, StaffPreference.changed_at: utcnow()},
    ).execute()
