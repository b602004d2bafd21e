"""What a schedule template is: the slot grid, the working day, and the rules it must keep.

The manual's form: a name, a date range, weekdays, the first and the last
appointment time, and a grid of 15-minute cells between them that the
consultant switches on one by one. Each cell switched on starts one
appointment of `slot_minutes`.

The working day ends 15 minutes after the last appointment time (the manual:
«время последнего приёма нужно устанавливать на 15 мин. раньше окончания
рабочего дня»), so an appointment must end by `last_time + 15 min`: with
30-minute appointments and the last time 16:45 the last cell that fits is
16:30. Times are local to the template's time zone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.errors import ValidationError
from domain.models import ScheduleTemplate
from i18n import N_

__all__ = [
    "GRID_MINUTES",
    "DAY_END_MARGIN",
    "SLOT_LENGTHS",
    "MAX_DAYS",
    "WEEKDAYS",
    "TemplatePlan",
    "grid_cells",
    "hhmm",
    "minutes_of",
    "check_plan",
    "plans_overlap",
    "local_to_utc",
]

GRID_MINUTES = 15
#: The last appointment time is this long before the working day ends.
DAY_END_MARGIN = 15
SLOT_LENGTHS = (15, 30, 45, 60)
#: A template covers at most a year: longer ones are a typo more often than a plan.
MAX_DAYS = 366
WEEKDAYS: tuple[tuple[int, str], ...] = (
    (1, N_("Пн")),
    (2, N_("Вт")),
    (3, N_("Ср")),
    (4, N_("Чт")),
    (5, N_("Пт")),
    (6, N_("Сб")),
    (7, N_("Вс")),
)
MINUTES_PER_DAY = 24 * 60


def minutes_of(value: time) -> int:
    return value.hour * 60 + value.minute


def hhmm(minutes: int) -> str:
    """Minutes since midnight as "HH:MM" (24:00 for the very end of the day)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def grid_cells(first: time, last: time, slot_minutes: int = GRID_MINUTES) -> list[str]:
    """The grid's cells from the first to the last appointment time, every 15 minutes, that an
    appointment of `slot_minutes` can start at: one that would end after the working day
    (`check_plan` refuses it) is not offered."""
    start, stop = minutes_of(first), minutes_of(last)
    day_end = stop + DAY_END_MARGIN
    return [hhmm(m) for m in range(start, stop + 1, GRID_MINUTES) if m + slot_minutes <= day_end]


@dataclass(frozen=True)
class TemplatePlan:
    """A template's values as the consultant entered them (local times)."""

    name: str
    date_from: date
    date_to: date
    first_time: time
    last_time: time
    weekdays: tuple[int, ...]
    cells: tuple[time, ...]
    slot_minutes: int

    @property
    def day_end(self) -> int:
        """When the working day ends, in minutes since midnight."""
        return minutes_of(self.last_time) + DAY_END_MARGIN

    def model_fields(self) -> dict[str, object]:
        return {
            "name": self.name,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "first_time": self.first_time.strftime("%H:%M"),
            "last_time": self.last_time.strftime("%H:%M"),
            "weekdays": ",".join(str(d) for d in self.weekdays),
            "cells": json.dumps([c.strftime("%H:%M") for c in self.cells]),
            "slot_minutes": self.slot_minutes,
        }

    @classmethod
    def of(cls, template: ScheduleTemplate) -> TemplatePlan:
        """The plan a stored template was saved from."""
        return cls(
            name=template.name,
            date_from=template.date_from,
            date_to=template.date_to,
            first_time=time.fromisoformat(template.first_time),
            last_time=time.fromisoformat(template.last_time),
            weekdays=tuple(int(d) for d in template.weekdays.split(",") if d),
            cells=tuple(time.fromisoformat(c) for c in json.loads(template.cells or "[]")),
            slot_minutes=int(template.slot_minutes),
        )

    def days(self, start: date | None = None) -> Iterator[date]:
        """The dates the template works on, from `start` (or its first date) to its last."""
        day = max(self.date_from, start or self.date_from)
        while day <= self.date_to:
            if day.isoweekday() in self.weekdays:
                yield day
            day += timedelta(days=1)

    def describe(self) -> dict[str, str]:
        """Parameters for messages: weekdays, hours and period in the user's words."""
        names = dict(WEEKDAYS)
        return {
            "days": ", ".join(names[d] for d in self.weekdays),
            "hours": f"{self.first_time:%H:%M}–{hhmm(self.day_end)}",
            "period": f"{self.date_from:%d.%m.%Y}–{self.date_to:%d.%m.%Y}",
        }


def check_plan(plan: TemplatePlan) -> None:
    """Refuse a template that cannot be a working schedule, saying what to fix."""
    if not plan.name.strip():
        raise ValidationError(N_("Укажите название шаблона"), field="name")
    if plan.date_to < plan.date_from:
        raise ValidationError(
            N_("Дата окончания (%(end)s) раньше даты начала (%(start)s): исправьте даты"),
            field="date_to",
            start=f"{plan.date_from:%d.%m.%Y}",
            end=f"{plan.date_to:%d.%m.%Y}",
        )
    if (plan.date_to - plan.date_from).days >= MAX_DAYS:
        raise ValidationError(
            N_("Шаблон можно создать не больше чем на год: сократите период"), field="date_to"
        )
    first, last = minutes_of(plan.first_time), minutes_of(plan.last_time)
    if last < first:
        raise ValidationError(
            N_("Время последнего приёма (%(last)s) раньше времени первого (%(first)s): исправьте время"),
            field="last_time",
            first=hhmm(first),
            last=hhmm(last),
        )
    if plan.day_end > MINUTES_PER_DAY:
        raise ValidationError(
            N_(
                "Время последнего приёма должно быть не позже %(latest)s: "
                "рабочий день заканчивается через 15 минут после последнего приёма"
            ),
            field="last_time",
            latest=hhmm(MINUTES_PER_DAY - DAY_END_MARGIN),
        )
    if not plan.weekdays:
        raise ValidationError(N_("Выберите хотя бы один день недели"), field="weekdays")
    if plan.slot_minutes not in SLOT_LENGTHS:
        raise ValidationError(
            N_("Выберите длительность приёма: 15, 30, 45 или 60 минут"), field="slot_minutes"
        )
    if not plan.cells:
        raise ValidationError(N_("Отметьте в сетке расписания хотя бы одно время приёма"), field="cells")
    _check_cells(plan, first, last)


def _check_cells(plan: TemplatePlan, first: int, last: int) -> None:
    starts = sorted(minutes_of(c) for c in plan.cells)
    for start in starts:
        if not first <= start <= last:
            raise ValidationError(
                N_("Время %(time)s вне часов приёма %(first)s–%(last)s: снимите отметку или измените часы"),
                field="cells",
                time=hhmm(start),
                first=hhmm(first),
                last=hhmm(last),
            )
        if start + plan.slot_minutes > plan.day_end:
            raise ValidationError(
                N_(
                    "Приём в %(time)s длится %(length)s мин и закончится в %(end)s — позже окончания "
                    "рабочего дня (%(day_end)s). Последний приём должен начинаться не позже чем за "
                    "15 минут до окончания рабочего дня: снимите отметку или измените время последнего приёма"
                ),
                field="cells",
                time=hhmm(start),
                length=plan.slot_minutes,
                end=hhmm(start + plan.slot_minutes),
                day_end=hhmm(plan.day_end),
            )
    for earlier, later in zip(starts, starts[1:], strict=False):
        if later - earlier < plan.slot_minutes:
            raise ValidationError(
                N_(
                    "Приёмы в %(first)s и %(second)s пересекаются: при длительности приёма %(length)s мин "
                    "отмечайте время не чаще чем через %(length)s мин"
                ),
                field="cells",
                first=hhmm(earlier),
                second=hhmm(later),
                length=plan.slot_minutes,
            )


def local_to_utc(day: date, minutes: int, zone: ZoneInfo) -> datetime | None:
    """A local wall time as naive UTC; None for a time the clocks skip (a DST gap)."""
    wall = datetime.combine(day, time(0)) + timedelta(minutes=minutes)
    utc = wall.replace(tzinfo=zone).astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return utc.replace(tzinfo=None)


def plans_overlap(a: TemplatePlan, a_zone: ZoneInfo, b: TemplatePlan, b_zone: ZoneInfo) -> bool:
    """Two templates share a date and weekday and their working hours intersect."""
    start, stop = max(a.date_from, b.date_from), min(a.date_to, b.date_to)
    if stop < start:
        return False
    common = set(a.weekdays) & set(b.weekdays)
    # A week of the shared period meets each shared weekday once; compare the hours in UTC
    # so that templates saved in different zones are compared as real moments.
    day = start
    while day <= min(stop, start + timedelta(days=6)):
        if day.isoweekday() in common:
            a_from, a_to = _hours_utc(a, day, a_zone)
            b_from, b_to = _hours_utc(b, day, b_zone)
            if a_from < b_to and b_from < a_to:
                return True
        day += timedelta(days=1)
    return False


def _hours_utc(plan: TemplatePlan, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    begin = datetime.combine(day, plan.first_time, zone).astimezone(UTC)
    return begin, begin + timedelta(minutes=plan.day_end - minutes_of(plan.first_time))
