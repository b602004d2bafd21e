"""The template form: reading what the consultant typed, and what the form shows back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

from domain.errors import ValidationError
from domain.models import ScheduleTemplate
from i18n import N_

from .rules import WEEKDAYS, TemplatePlan, grid_cells

__all__ = ["TemplateForm", "plan_from_form"]

DEFAULT_FIRST = "09:00"
DEFAULT_LAST = "16:45"
DEFAULT_SLOT = 30


@dataclass
class TemplateForm:
    """The form's values as text, so that a refused form comes back as it was typed."""

    name: str = ""
    date_from: str = ""
    date_to: str = ""
    first_time: str = DEFAULT_FIRST
    last_time: str = DEFAULT_LAST
    weekdays: list[str] = field(default_factory=lambda: ["1", "2", "3", "4", "5"])
    cells: list[str] = field(default_factory=list)
    slot_minutes: str = str(DEFAULT_SLOT)

    @classmethod
    def blank(cls, today: date) -> TemplateForm:
        return cls(date_from=today.isoformat(), date_to=(today + timedelta(days=27)).isoformat())

    @classmethod
    def of(cls, template: ScheduleTemplate) -> TemplateForm:
        return cls(
            name=template.name,
            date_from=template.date_from.isoformat(),
            date_to=template.date_to.isoformat(),
            first_time=template.first_time,
            last_time=template.last_time,
            weekdays=[d for d in template.weekdays.split(",") if d],
            cells=list(json.loads(template.cells or "[]")),
            slot_minutes=str(template.slot_minutes),
        )

    @classmethod
    def posted(cls, form: Any) -> TemplateForm:
        return cls(
            name=form.get("name", ""),
            date_from=form.get("date_from", ""),
            date_to=form.get("date_to", ""),
            first_time=form.get("first_time", ""),
            last_time=form.get("last_time", ""),
            weekdays=form.getlist("weekdays"),
            cells=form.getlist("cells"),
            slot_minutes=form.get("slot_minutes", ""),
        )

    def grid(self) -> list[tuple[str, bool]]:
        """The grid's cells between the first and last time that an appointment of the chosen
        length fits in, and whether each is switched on."""
        try:
            first, last = time.fromisoformat(self.first_time), time.fromisoformat(self.last_time)
        except ValueError:
            first, last = time.fromisoformat(DEFAULT_FIRST), time.fromisoformat(DEFAULT_LAST)
        try:
            length = int(self.slot_minutes or DEFAULT_SLOT)
        except ValueError:
            length = DEFAULT_SLOT
        chosen = set(self.cells)
        return [(cell, cell in chosen) for cell in grid_cells(first, last, length)]

    def weekday_choices(self) -> list[tuple[str, str, bool]]:
        return [(str(n), label, str(n) in self.weekdays) for n, label in WEEKDAYS]


def _date(value: str, field_name: str, missing: str) -> date:
    if not value.strip():
        raise ValidationError(missing, field=field_name)
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationError(
            N_("Дата «%(value)s» не распознана: выберите её в календаре"), field=field_name, value=value
        ) from exc


def _time(value: str, field_name: str, missing: str) -> time:
    text = value.strip()
    if not text:
        raise ValidationError(missing, field=field_name)
    try:
        parsed = time.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(
            N_("Время «%(value)s» не распознано: введите его как ЧЧ:ММ, например 09:00"),
            field=field_name,
            value=text,
        ) from exc
    return parsed.replace(second=0, microsecond=0)


def plan_from_form(form: TemplateForm) -> TemplatePlan:
    """Read the typed values; a value that is missing or unreadable is refused by name."""
    if not form.name.strip():
        raise ValidationError(N_("Укажите название шаблона"), field="name")
    try:
        weekdays = tuple(sorted({int(d) for d in form.weekdays if int(d) in range(1, 8)}))
        slot_minutes = int(form.slot_minutes or DEFAULT_SLOT)
    except ValueError as exc:
        raise ValidationError(N_("Неверное значение в форме: обновите страницу"), field="weekdays") from exc
    return TemplatePlan(
        name=form.name.strip(),
        date_from=_date(form.date_from, "date_from", N_("Укажите дату начала действия шаблона")),
        date_to=_date(form.date_to, "date_to", N_("Укажите дату окончания действия шаблона")),
        first_time=_time(form.first_time, "first_time", N_("Укажите время первого приёма")),
        last_time=_time(form.last_time, "last_time", N_("Укажите время последнего приёма")),
        weekdays=weekdays,
        cells=tuple(sorted({_time(c, "cells", N_("Отметьте время в сетке")) for c in form.cells})),
        slot_minutes=slot_minutes,
    )
