"""Filters of the consultant's queues: form of care, specialty, post, date and deadline.

The same GET parameters drive the queue page and the JSON API (`form_of_care`,
`specialty`, `post`, `date` and `due_by` as YYYY-MM-DD in the user's zone); the
status is the list itself (`queue`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from peewee import Expression, ModelSelect

from domain.errors import ValidationError
from domain.models import Appeal, FormOfCare, Organization, OrgKind, Slot, Specialty
from i18n import N_
from sync.statements import Bind, Holes, as_is, compiled

__all__ = ["QueueFilter", "Choice", "post_choices", "specialty_choices"]

_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class QueueFilter:
    """What a consultant narrowed the queues to; empty fields mean «all»."""

    form_of_care: str = ""
    specialty: str = ""
    post: str = ""
    day: date | None = None
    #: «Срок ответа до»: open appeals whose deadline falls on this local day or earlier.
    due_by: date | None = None
    zone: ZoneInfo = ZoneInfo("Europe/Moscow")

    @classmethod
    def from_args(cls, args: Mapping[str, Any], zone: ZoneInfo | None = None) -> QueueFilter:
        """Read the filters from GET parameters; an impossible value is refused with a message."""
        form = str(args.get("form_of_care") or "").strip()
        if form and form not in FormOfCare.ALL:
            raise ValidationError(N_("Выберите форму оказания помощи"), field="form_of_care")
        return cls(
            form_of_care=form,
            specialty=str(args.get("specialty") or "").strip(),
            post=str(args.get("post") or "").strip(),
            day=_day(args, "date"),
            due_by=_day(args, "due_by"),
            zone=zone or cls.zone,
        )

    @property
    def active(self) -> bool:
        return bool(self.form_of_care or self.specialty or self.post or self.day or self.due_by)

    def as_args(self) -> dict[str, str]:
        """The filters as GET parameters (only those that are set)."""
        out = {
            "form_of_care": self.form_of_care,
            "specialty": self.specialty,
            "post": self.post,
            "date": self.day.isoformat() if self.day else "",
            "due_by": self.due_by.isoformat() if self.due_by else "",
        }
        return {k: v for k, v in out.items() if v}

    def day_range(self) -> tuple[datetime, datetime] | None:
        """The chosen local day as a naive-UTC half-open range."""
        if self.day is None:
            return None
        return self._midnight(self.day), self._midnight(self.day + timedelta(days=1))

    def _midnight(self, day: date) -> datetime:
        """The local day's start as naive UTC."""
        return datetime.combine(day, time(0), self.zone).astimezone(_UTC).replace(tzinfo=None)

    def where(self, *, open_list: bool = True, bind: Bind = as_is) -> Expression | None:
        """The SQL condition on Appeal; None when nothing is filtered. `bind` gives it the
        values (see `statements`).

        The deadline narrows the open lists only: a closed appeal was answered (and the closed
        list, by when it was closed, would have to read and sort every match)."""
        conditions: list[Expression] = []
        if self.form_of_care:
            conditions.append(Appeal.form_of_care == bind("form_of_care", self.form_of_care))
        if self.specialty:
            conditions.append(Appeal.specialty == bind("filter_specialty", self.specialty))
        if self.post:
            conditions.append(Appeal.post == bind("post", self.post))
        span = self.day_range()
        if span is not None:
            start, end = bind("day_start", span[0]), bind("day_end", span[1])
            # The appeal's date is its reception time, or when it was made if it has no slot.
            slots_that_day = Slot.select(Slot.id).where((Slot.starts_at >= start) & (Slot.starts_at < end))
            conditions.append(
                Appeal.slot.in_(slots_that_day)
                | (Appeal.slot.is_null() & (Appeal.created_at >= start) & (Appeal.created_at < end))
            )
        if self.due_by is not None and open_list:
            due_before = self._midnight(self.due_by + timedelta(days=1))
            conditions.append(Appeal.due_at < bind("due_before", due_before))
        if not conditions:
            return None
        combined = conditions[0]
        for condition in conditions[1:]:
            combined = combined & condition
        return combined


def _day(args: Mapping[str, Any], name: str) -> date | None:
    raw = str(args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationError(N_("Дата указана неверно: ожидается ГГГГ-ММ-ДД"), field=name) from exc


class Choice(NamedTuple):
    """One option of a filter: what is sent, and what is shown."""

    id: str
    name: str


def specialty_choices() -> list[Choice]:
    """(id, name) of every specialty, by name."""
    query = Specialty.live().select(Specialty.id, Specialty.name).order_by(Specialty.name)
    return _choices("specialty_choices", query)


def post_choices() -> list[Choice]:
    """(id, name) of every post, by name: a region holds hundreds, so no more is read."""
    query = (
        Organization.live()
        .select(Organization.id, Organization.name)
        .where(Organization.kind == OrgKind.POST)
        .order_by(Organization.name)
    )
    return _choices("post_choices", query)


def _choices(name: str, query: ModelSelect) -> list[Choice]:
    """`query`'s rows as plain pairs, its statement written once: for a region's hundreds of
    posts, peewee's row objects cost more than the database takes to find them."""
    database = query.model._meta.database
    sql, params = compiled(database, (name,), query, Holes())
    return [Choice(*row) for row in database.execute_sql(sql, params)]
