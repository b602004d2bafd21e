"""«Журнал доступа»: the filtered, paged rows of the access audit and its CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from peewee import JOIN

from domain.errors import ValidationError
from domain.models import AccessAction, AccessEntry, Organization, Staff
from i18n import N_

__all__ = ["JournalFilter", "PAGE_SIZE", "page", "csv_lines", "ACTION_LABELS", "CSV_COLUMNS"]

PAGE_SIZE = 50

ACTION_LABELS: dict[str, str] = {
    AccessAction.VIEW: N_("просмотр"),
    AccessAction.DOWNLOAD: N_("скачивание"),
    AccessAction.PREVIEW: N_("предпросмотр"),
    AccessAction.SEARCH: N_("поиск"),
    AccessAction.EXPORT: N_("выгрузка"),
    AccessAction.LOGIN: N_("вход"),
    AccessAction.LOGIN_FAILED: N_("неудачный вход"),
    AccessAction.RESTORE: N_("восстановление из резервной копии"),
}

CSV_COLUMNS = (
    "at_utc",
    "writer",
    "position",
    "staff_id",
    "staff_name",
    "role",
    "organization",
    "address",
    "action",
    "kind",
    "record",
    "patient",
    "records",
    "detail",
    "login_hash",
    "row_hash",
)


@dataclass(frozen=True)
class JournalFilter:
    """Person, patient, kind of access and period (dates in the reader's time zone)."""

    staff: str = ""
    patient: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))

    @classmethod
    def from_args(cls, args: Mapping[str, str], zone: ZoneInfo) -> JournalFilter:
        def day(name: str) -> date | None:
            text = (args.get(name) or "").strip()
            if not text:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError as exc:
                raise ValidationError(N_("Дата указывается как ГГГГ-ММ-ДД"), field=name) from exc

        action = (args.get("action") or "").strip()
        return cls(
            staff=(args.get("staff") or "").strip()[:36],
            patient=(args.get("patient") or "").strip()[:36],
            action=action if action in AccessAction.ALL else "",
            since=day("since"),
            until=day("until"),
            zone=zone,
        )

    def args(self) -> dict[str, str]:
        """The filter as query arguments (for the next page and the CSV link)."""
        out = {"staff": self.staff, "patient": self.patient, "action": self.action}
        out["since"] = self.since.isoformat() if self.since else ""
        out["until"] = self.until.isoformat() if self.until else ""
        return {k: v for k, v in out.items() if v}

    def _utc(self, day: date) -> datetime:
        local = datetime.combine(day, time.min, tzinfo=self.zone)
        return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)

    def query(self) -> Any:
        query = AccessEntry.select()
        if self.staff:
            query = query.where(AccessEntry.staff == self.staff)
        if self.patient:
            query = query.where(AccessEntry.patient == self.patient)
        if self.action:
            query = query.where(AccessEntry.action == self.action)
        if self.since:
            query = query.where(AccessEntry.at >= self._utc(self.since))
        if self.until:
            query = query.where(AccessEntry.at < self._utc(self.until + timedelta(days=1)))
        return query


@dataclass(frozen=True)
class JournalPage:
    rows: list[AccessEntry]
    number: int
    has_next: bool


def page(filters: JournalFilter, number: int = 1) -> JournalPage:
    """One page, newest first (the index on the time serves the order and the period)."""
    number = max(1, number)
    query = (
        filters.query()
        .select(AccessEntry, Staff, Organization)
        .join(Staff, JOIN.LEFT_OUTER, on=(AccessEntry.staff == Staff.id))
        .switch(AccessEntry)
        .join(Organization, JOIN.LEFT_OUTER, on=(AccessEntry.organization == Organization.id))
        .order_by(AccessEntry.at.desc(), AccessEntry.position.desc())
        .offset((number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    rows = list(query)
    return JournalPage(rows[:PAGE_SIZE], number, len(rows) > PAGE_SIZE)


def csv_lines(filters: JournalFilter) -> Iterator[str]:
    """The filtered rows as CSV, oldest first, read in one pass (not held in memory)."""
    people = Staff.select(Staff.id, Staff.last_name, Staff.first_name, Staff.middle_name)
    names = {person.id: person.full_name for person in people}
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + flush()  # Excel opens UTF-8 with the mark as UTF-8
    query = filters.query().order_by(AccessEntry.at, AccessEntry.origin, AccessEntry.position)
    for row in query.iterator():
        writer.writerow(
            [
                row.at.isoformat(),
                row.origin,
                row.position,
                row.staff_id or "",
                names.get(row.staff_id or "", ""),
                row.role,
                row.organization_id or "",
                row.address,
                row.action,
                row.kind,
                row.record,
                row.patient,
                row.records,
                row.detail,
                row.login_hash,
                row.row_hash,
            ]
        )
        yield flush()
