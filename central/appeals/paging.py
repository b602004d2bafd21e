"""The consultant's lists a page at a time: keyset pages, bounded counts, cursors, changes.

A page is the rows after the last one shown, in the list's order (by deadline, or the last
closed first, then by id), never an OFFSET: the database walks one index from that point,
so the thousandth page costs what the first does. Each way the consultant sees appeals
(`visibility_branches`) is walked on its own and the page taken from their union.
Counts stop at `COUNT_LIMIT` + 1 («больше 1000»), so they too read a bounded part of
an index. A cursor is the position signed, so a changed one is refused rather than read.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from peewee import SQL, Expression, Select, SelectBase, fn

from domain.errors import ValidationError
from domain.models import Appeal, Organization, Patient, Slot, Specialty, Staff
from domain.models.appeal_queries import QUEUE_LISTS, QueueList
from i18n import N_
from sync.statements import Bind, Holes, as_is, compiled

from .filters import QueueFilter
from .visibility import visibility_branches, visible_to

__all__ = [
    "PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "COUNT_LIMIT",
    "CHANGES_LIMIT",
    "Position",
    "row_key",
    "Page",
    "Cursors",
    "page",
    "counts",
    "Change",
    "changes_since",
]

PAGE_SIZE = 25
MAX_PAGE_SIZE = 200
#: Counts are exact up to this; one more means «больше» (more than this).
COUNT_LIMIT = 1000
#: More appeals changed than this since a page was shown: it reloads its lists instead.
CHANGES_LIMIT = 200

#: The lists counted, by the names the pages and the API give their counters: ``new`` counts
#: the overdue ones too, as the menu shows it; ``new_not_overdue`` does not.
COUNTED = {
    "overdue": "overdue",
    "new_not_overdue": "new",
    "new": "all_new",
    "in_work": "in_work",
    "closed": "closed",
}


@dataclass(frozen=True)
class Position:
    """A row's place in its list: its sort value (deadline, or when closed) and its id."""

    at: datetime
    appeal_id: str

    @classmethod
    def of(cls, queue: QueueList, appeal: Appeal) -> Position:
        return cls(queue.sort_key(appeal), appeal.id)


@dataclass
class Page:
    queue: QueueList
    appeals: list[Appeal] = field(default_factory=list)
    #: The last row's position when more follow; None at the end of the list.
    next: Position | None = None


class Cursors:
    """Positions as opaque, signed tokens bound to their list."""

    def __init__(self, secret: str | bytes) -> None:
        self._serializer = URLSafeSerializer(secret, salt="faplink.queue-cursor")

    def encode(self, queue: QueueList, position: Position) -> str:
        return str(self._serializer.dumps([queue.name, position.at.isoformat(), position.appeal_id]))

    def decode(self, token: str, queue: QueueList) -> Position:
        """The position in `token`; ValidationError (``after``) if it was changed or is another list's."""
        try:
            name, at, appeal_id = self._serializer.loads(token)
            if name != queue.name or not isinstance(appeal_id, str):
                raise ValueError(name)
            return Position(datetime.fromisoformat(at), appeal_id)
        except (BadSignature, ValueError, TypeError) as exc:
            raise ValidationError(
                N_("Ссылка на продолжение списка повреждена или от другого списка: откройте список заново"),
                field="after",
            ) from exc


def row_key(queue: QueueList, appeal: Appeal) -> str:
    """The row's place as text that sorts as the list does (backwards for the newest first)."""
    return f"{queue.sort_key(appeal):%Y-%m-%dT%H:%M:%S.%f}|{appeal.id}"


def _all(conditions: Sequence[Expression | None]) -> Expression:
    return reduce(operator.and_, [c for c in conditions if c is not None])


def _order(queue: QueueList) -> tuple[Any, Any]:
    if queue.newest_first:
        return queue.sort_field.desc(), Appeal.id.desc()
    return queue.sort_field.asc(), Appeal.id.asc()


def _after(queue: QueueList, position: Position, bind: Bind = as_is) -> Expression:
    """Rows after `position` in the list's order, written so that the index bounds the walk."""
    column, at, last = queue.sort_field, bind("after_at", position.at), bind("after_id", position.appeal_id)
    if queue.newest_first:
        return (column <= at) & ((column < at) | (Appeal.id < last))  # type: ignore[no-any-return]
    return (column >= at) & ((column > at) | (Appeal.id > last))  # type: ignore[no-any-return]


def _union_of_branches(
    staff: Staff, condition: Expression, *, limit: Any, queue: QueueList | None, bind: Bind = as_is
) -> SelectBase:
    """Ids of at most `limit` rows per way of seeing appeals (the first ones in `queue`'s order)."""
    arms = []
    for number, branch in enumerate(visibility_branches(staff, bind)):
        arm = Appeal.select(Appeal.id).where(branch & condition)
        if queue is not None:
            arm = arm.order_by(*_order(queue))
        wrapped = arm.limit(limit).alias(f"arm{number}")
        arms.append(Select([wrapped], [wrapped.c.id]))
    return reduce(operator.or_, arms)


def with_relations(appeals: list[Appeal], *, doctors: bool = True) -> list[Appeal]:
    """`appeals` with what a row shows (patient, post, specialty, slot, the named consultant and
    their specialty), read by id with one query per table: a join of all seven costs PostgreSQL
    more to plan than to run. Without `doctors`, the named consultant and the specialties are
    left to be read when asked for (the queue page's rows show neither)."""
    patients = _by_id(Patient, {a.patient_id for a in appeals})
    posts = _by_id(Organization, {a.post_id for a in appeals})
    slots = _by_id(Slot, {a.slot_id for a in appeals})
    for appeal in appeals:
        appeal.patient = patients[appeal.patient_id]
        appeal.post = posts[appeal.post_id]
        if appeal.slot_id:
            appeal.slot = slots[appeal.slot_id]
    if not doctors:
        return appeals
    named = _by_id(Staff, {a.consultant_id for a in appeals})
    specialties = _by_id(
        Specialty, {a.specialty_id for a in appeals} | {d.specialty_id for d in named.values()}
    )
    for doctor in named.values():
        if doctor.specialty_id:
            doctor.specialty = specialties[doctor.specialty_id]
    for appeal in appeals:
        appeal.specialty = specialties[appeal.specialty_id]
        if appeal.consultant_id:
            appeal.consultant = named[appeal.consultant_id]
    return appeals


def _by_id(model: Any, ids: set[str | None]) -> dict[str, Any]:
    """The rows of `model` with these ids, by id. The statement is compiled for a number of ids
    rounded up to a power of two (the last one repeated), so a few shapes serve every page."""
    wanted = sorted(i for i in ids if i)
    if not wanted:
        return {}
    padded = wanted + wanted[-1:] * ((1 << (len(wanted) - 1).bit_length()) - len(wanted))
    holes = Holes()
    query = model.select().where(model.id.in_([holes(f"id{n}", i) for n, i in enumerate(padded)]))
    sql, params = compiled(model._meta.database, ("by_id", model._meta.table_name), query, holes)
    return {row.id: row for row in model.raw(sql, *params)}


def _page_query(
    staff: Staff,
    queue: QueueList,
    now: datetime,
    *,
    filters: QueueFilter | None,
    after: Position | None,
    limit: int,
    bind: Bind = as_is,
) -> Select:
    """The statement of `page`: its rows and one more (to tell whether more follow)."""
    condition = _all(
        [
            queue.where(bind("now", now)),
            filters.where(open_list=not queue.newest_first, bind=bind) if filters is not None else None,
            _after(queue, after, bind) if after is not None else None,
        ]
    )
    more = bind("limit", limit + 1)
    candidates = _union_of_branches(staff, condition, limit=more, queue=queue, bind=bind)
    return Appeal.select().where(Appeal.id.in_(candidates)).order_by(*_order(queue)).limit(more)


def page(
    staff: Staff,
    queue: QueueList,
    now: datetime,
    *,
    filters: QueueFilter | None = None,
    after: Position | None = None,
    limit: int | None = None,
    related: bool = True,
) -> Page:
    """Up to `limit` (`PAGE_SIZE`) appeals of `queue` that `staff` sees, after `after` (from the start
    if None); with what their rows show unless not `related` (see `with_relations`)."""
    limit = limit or PAGE_SIZE
    holes = Holes()
    query = _page_query(staff, queue, now, filters=filters, after=after, limit=limit, bind=holes)
    sql, params = compiled(Appeal._meta.database, ("page", queue.name), query, holes)
    rows = list(Appeal.raw(sql, *params))
    shown = with_relations(rows[:limit]) if related else rows[:limit]
    more = len(rows) > limit
    return Page(queue, shown, Position.of(queue, shown[-1]) if more else None)


def _counts_query(
    staff: Staff, now: datetime, filters: QueueFilter | None, names: Sequence[str], bind: Bind = as_is
) -> Select:
    """One statement counting the lists `names` (of `COUNTED`), each up to `COUNT_LIMIT` + 1."""
    columns = []
    for number, name in enumerate(names):
        queue = QUEUE_LISTS[COUNTED[name]]
        narrowed = filters.where(open_list=not queue.newest_first, bind=bind) if filters is not None else None
        condition = _all([queue.where(bind("now", now)), narrowed])
        union = _union_of_branches(
            staff, condition, limit=bind("count_limit", COUNT_LIMIT + 1), queue=queue, bind=bind
        ).alias(f"counted{number}")
        columns.append(Select([union], [fn.COUNT(SQL("1"))]).alias(f"count{number}"))
    return Select(columns=columns)


def counts(
    staff: Staff, now: datetime, filters: QueueFilter | None = None, *, names: Sequence[str] = tuple(COUNTED)
) -> dict[str, int]:
    """How many appeals the lists `names` (of `COUNTED`) hold for `staff`, up to `COUNT_LIMIT` + 1
    (which means «more»)."""
    # «new» is its two halves: both exact, or one of them past the limit and so is it.
    wanted = [n for n in names if n != "new"]
    if "new" in names:
        wanted += [n for n in ("overdue", "new_not_overdue") if n not in wanted]
    holes = Holes()
    query = _counts_query(staff, now, filters, wanted, holes)
    sql, params = compiled(Appeal._meta.database, ("counts", *wanted), query, holes)
    found = Appeal._meta.database.execute_sql(sql, params).fetchone()
    out = {name: min(int(value), COUNT_LIMIT + 1) for name, value in zip(wanted, found, strict=True)}
    if "new" in names:
        out["new"] = min(out["overdue"] + out["new_not_overdue"], COUNT_LIMIT + 1)
    return {name: out[name] for name in names}


@dataclass(frozen=True)
class Change:
    """An appeal changed since a page was shown: the list among the page's that holds it now."""

    appeal_id: str
    appeal: Appeal | None = None
    queue: QueueList | None = None


def changes_since(
    staff: Staff,
    queues: Sequence[QueueList],
    since: int,
    now: datetime,
    *,
    filters: QueueFilter | None = None,
) -> list[Change] | None:
    """The appeals changed after change number `since`, each with the list of `queues` that
    shows it now (None: it is in none of them, or no longer seen); None when more than
    `CHANGES_LIMIT` changed (the page reloads its lists then)."""
    changed = [
        row.id
        for row in Appeal.select(Appeal.id)
        .where(Appeal.seq > since)
        .order_by(Appeal.seq)
        .limit(CHANGES_LIMIT + 1)
    ]
    if len(changed) > CHANGES_LIMIT:
        return None
    if not changed:
        return []
    matching: dict[bool, dict[str, Appeal]] = {}
    for open_list in {not q.newest_first for q in queues}:
        narrowed = filters.where(open_list=open_list) if filters is not None else None
        condition = _all([Appeal.id.in_(changed), visible_to(staff), narrowed])
        matching[open_list] = {
            # Rows for the page's lists: without the named doctor and specialty (see `with_relations`).
            appeal.id: appeal
            for appeal in with_relations(list(Appeal.select().where(condition)), doctors=False)
        }
    out = []
    for appeal_id in dict.fromkeys(changed):
        found = [
            (q, appeal)
            for q in queues
            if (appeal := matching[not q.newest_first].get(appeal_id)) is not None and q.holds(appeal, now)
        ]
        out.append(Change(appeal_id, found[0][1], found[0][0]) if found else Change(appeal_id))
    return out
