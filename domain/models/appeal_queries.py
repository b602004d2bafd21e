"""What the post and the centre both ask of appeals: the free slots to book and the lists.

One rule each, for the pages and the JSON API of both apps: a slot is free while
no live appeal holds it; an appeal is «Просроченные» while it is new past its
slot or deadline, then «В работе», then «Закрытые» (newest first).

The post holds few appeals and splits them in memory (`split_queues`); central pages
through each list (`QUEUE_LISTS`) in the order of the indexes `QUEUE_INDEXES` keep.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from peewee import Database, Expression, Field

from sync.clock import utcnow

from .appeals import Appeal, AppealStatus
from .schedule import Slot

__all__ = [
    "BOOKING_DAYS",
    "free_slots",
    "Queues",
    "split_queues",
    "QueueList",
    "QUEUE_LISTS",
    "QUEUE_INDEXES",
    "create_queue_indexes",
]

#: How far ahead a booking may choose a slot.
BOOKING_DAYS = 14


def free_slots(consultant_id: str, now: datetime | None = None, days: int = BOOKING_DAYS) -> list[Slot]:
    """The consultant's active future slots, within ``days``, with no live appeal on them."""
    now = now or utcnow()
    taken = Appeal.select(Appeal.slot).where(
        Appeal.slot.is_null(False) & (Appeal.status != AppealStatus.CANCELLED) & (Appeal.deleted == False)  # noqa: E712
    )
    return list(
        Slot.live()
        .where(
            (Slot.consultant == consultant_id)
            & (Slot.active == True)  # noqa: E712
            & (Slot.starts_at > now)
            & (Slot.starts_at < now + timedelta(days=days))
            & Slot.id.not_in(taken)
        )
        .order_by(Slot.starts_at)
    )


@dataclass
class Queues:
    """«Новые обращения» (with «Просроченные» apart), «В работе», «Закрытые обращения»."""

    overdue: list[Appeal] = field(default_factory=list)
    new: list[Appeal] = field(default_factory=list)
    in_work: list[Appeal] = field(default_factory=list)
    closed: list[Appeal] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many each list holds; «new» counts the overdue ones too, as the menu shows it."""
        return {
            "overdue": len(self.overdue),
            "new": len(self.new) + len(self.overdue),
            "in_work": len(self.in_work),
            "closed": len(self.closed),
        }


def split_queues(appeals: Iterable[Appeal], now: datetime | None = None) -> Queues:
    """The appeals (in the order given) sorted into the lists; cancelled ones into none."""
    now = now or utcnow()
    out = Queues()
    for appeal in appeals:
        if appeal.status == AppealStatus.NEW:
            (out.overdue if appeal.is_overdue(now) else out.new).append(appeal)
        elif appeal.status == AppealStatus.IN_WORK:
            out.in_work.append(appeal)
        elif appeal.status == AppealStatus.CLOSED:
            out.closed.append(appeal)
    out.closed.sort(key=lambda a: a.closed_at or a.created_at, reverse=True)
    return out


@dataclass(frozen=True)
class QueueList:
    """One list of appeals as central pages through it: which status, which side of the
    deadline, and the order (deadline first; «Закрытые» the last closed first, by id after)."""

    name: str
    status: str
    #: True: only those past their deadline («Просроченные»); False: only those before it.
    overdue: bool | None = None

    @property
    def newest_first(self) -> bool:
        return self.status == AppealStatus.CLOSED

    @property
    def sort_field(self) -> Field:
        # An appeal is closed only with its closed_at set (Protocol.send saves both at once).
        return Appeal.closed_at if self.newest_first else Appeal.due_at  # type: ignore[no-any-return]

    def where(self, now: datetime) -> Expression:
        condition = Appeal.status == self.status
        if self.overdue is True:
            condition &= Appeal.due_at <= now
        elif self.overdue is False:
            condition &= Appeal.due_at > now
        return condition  # type: ignore[no-any-return]

    def holds(self, appeal: Appeal, now: datetime) -> bool:
        """The same test as `where`, on a loaded appeal."""
        if appeal.status != self.status or appeal.deleted:
            return False
        return self.overdue is None or appeal.is_overdue(now) == self.overdue

    def sort_key(self, appeal: Appeal) -> datetime:
        if self.newest_first:
            return appeal.closed_at or appeal.created_at  # type: ignore[no-any-return]
        return appeal.due_at  # type: ignore[no-any-return]


#: The consultant's lists: «Просроченные» and the «Новые обращения» after them (apart on the
#: page), both together (`all_new`: the menu's «Новые обращения», the API's ``new``), «В работе»
#: and «Закрытые обращения».
QUEUE_LISTS: dict[str, QueueList] = {
    "overdue": QueueList("overdue", AppealStatus.NEW, overdue=True),
    "new": QueueList("new", AppealStatus.NEW, overdue=False),
    "all_new": QueueList("all_new", AppealStatus.NEW),
    "in_work": QueueList("in_work", AppealStatus.IN_WORK),
    "closed": QueueList("closed", AppealStatus.CLOSED),
}

#: Central's indexes for the lists: for each way a consultant sees an appeal (all of them, an
#: admin; by specialty; named; taken; booked by them), then the list's order, so that a page is a
#: short walk of one index whatever the table holds. The status leads every one of them: a
#: planner that reads how well an index's first column follows the table's order (PostgreSQL)
#: then weighs them alike, and takes the one that narrows most rather than the admin's.
QUEUE_INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("appeal_queue_all_due", ("status", "due_at", "id")),
    ("appeal_queue_all_closed", ("status", "closed_at", "id")),
    ("appeal_queue_specialty_due", ("status", "specialty_id", "due_at", "id")),
    ("appeal_queue_specialty_closed", ("status", "specialty_id", "closed_at", "id")),
    ("appeal_queue_consultant_due", ("status", "consultant_id", "due_at", "id")),
    ("appeal_queue_consultant_closed", ("status", "consultant_id", "closed_at", "id")),
    ("appeal_queue_taken_by_due", ("status", "taken_by_id", "due_at", "id")),
    ("appeal_queue_taken_by_closed", ("status", "taken_by_id", "closed_at", "id")),
    ("appeal_queue_author_due", ("status", "author_id", "due_at", "id")),
    ("appeal_queue_author_closed", ("status", "author_id", "closed_at", "id")),
)


def create_queue_indexes(db: Database) -> None:
    """Create `QUEUE_INDEXES` where missing (SQLite and PostgreSQL alike)."""
    for name, columns in QUEUE_INDEXES:
        quoted = ", ".join(f'"{column}"' for column in columns)
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" ON "appeal" ({quoted})')
