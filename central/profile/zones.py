"""Time zones for the profile: Russia's first, by city, then every other zone by name."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from domain.errors import ValidationError
from i18n import N_

__all__ = ["RUSSIAN_ZONES", "other_zones", "utc_offset", "check_zone"]

#: Russia's zones west to east, with the city people know them by.
RUSSIAN_ZONES: tuple[tuple[str, str], ...] = (
    ("Europe/Kaliningrad", N_("Калининград")),
    ("Europe/Moscow", N_("Москва")),
    ("Europe/Samara", N_("Самара")),
    ("Asia/Yekaterinburg", N_("Екатеринбург")),
    ("Asia/Omsk", N_("Омск")),
    ("Asia/Novosibirsk", N_("Новосибирск")),
    ("Asia/Krasnoyarsk", N_("Красноярск")),
    ("Asia/Irkutsk", N_("Иркутск")),
    ("Asia/Yakutsk", N_("Якутск")),
    ("Asia/Vladivostok", N_("Владивосток")),
    ("Asia/Magadan", N_("Магадан")),
    ("Asia/Kamchatka", N_("Петропавловск-Камчатский")),
)


@lru_cache(maxsize=1)
def other_zones() -> tuple[str, ...]:
    russian = {name for name, _ in RUSSIAN_ZONES}
    return tuple(sorted(z for z in available_timezones() if z not in russian and "/" in z))


def utc_offset(name: str, now: datetime | None = None) -> str:
    """The zone's current offset as "UTC+03:00"."""
    offset = (now or datetime.now(ZoneInfo(name))).astimezone(ZoneInfo(name)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "−"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def check_zone(name: str) -> str:
    """The zone name if Python knows it; refused otherwise."""
    name = (name or "").strip()
    if name not in available_timezones():
        raise ValidationError(N_("Выберите часовой пояс из списка"), field="timezone")
    return name
