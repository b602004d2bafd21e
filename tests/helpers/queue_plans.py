"""Run every query of the consultant's queue and collect the SQL it sends, to read its plans."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from central.appeals import paging
from central.appeals.filters import QueueFilter
from domain.models import Staff
from domain.models.appeal_queries import QUEUE_LISTS
from sync.clock import utcnow


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.queries: list[tuple[str, list[object]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, tuple) and str(record.msg[0]).lstrip().upper().startswith("SELECT"):
            self.queries.append((str(record.msg[0]), list(record.msg[1] or [])))


@contextmanager
def collected() -> Iterator[list[tuple[str, list[object]]]]:
    """The SELECTs peewee sends meanwhile (its debug log carries each with its parameters)."""
    handler = _Collect()
    log = logging.getLogger("peewee")
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        yield handler.queries
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def queue_queries(staff: Staff, post_id: str) -> list[tuple[str, list[object]]]:
    """Every list's first and a later page, unfiltered and filtered, the counters and the changes."""
    now = utcnow()
    today = date(2025, 6, 2)
    narrowed = [
        None,
        QueueFilter(post=post_id),
        QueueFilter(specialty=staff.specialty_id or "", form_of_care="planned"),
        QueueFilter(day=today, due_by=today + timedelta(days=3)),
    ]
    with collected() as queries:
        for queue_list in QUEUE_LISTS.values():
            for filters in narrowed:
                first = paging.page(staff, queue_list, now, filters=filters, limit=20)
                later = first.next or paging.Position(now - timedelta(days=30), "8" * 36)
                paging.page(staff, queue_list, now, filters=filters, after=later, limit=20)
        for filters in narrowed:
            paging.counts(staff, now, filters)
        paging.changes_since(staff, list(QUEUE_LISTS.values()), 0, now)
    return queries
