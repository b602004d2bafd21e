"""A queue statement is written to SQL once per shape and then only filled in: whoever asks, at
whatever time, with whatever filters and from whatever position, it must say exactly what peewee
writes afresh for that request."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import product
from typing import Any

from central.appeals import paging
from central.appeals.filters import QueueFilter
from domain.models import Appeal, Organization, Patient, Staff
from domain.models.appeal_queries import QUEUE_LISTS
from sync import statements
from sync.clock import utcnow
from sync.db import database
from sync.statements import Holes, as_is, compiled
from tests.helpers.queue import staff


def _fresh(query: Any) -> tuple[str, list[Any]]:
    return database.get_sql_context().parse(query)  # type: ignore[no-any-return]


def test_a_statement_compiled_once_says_what_peewee_writes_for_each_request(central_app) -> None:  # type: ignore[no-untyped-def]
    _, data = central_app
    statements.forget()
    admin = Staff.get(Staff.role == "admin")
    who = [staff(data, "ivanova"), staff(data, "smirnov"), staff(data, "kuznetsova"), admin]
    now = utcnow()
    post_a, post_b = data.posts[0][0], data.posts[1][0]
    narrowed = [
        None,
        QueueFilter(post=post_a),
        QueueFilter(post=post_b),
        QueueFilter(specialty=who[2].specialty_id or "", form_of_care="planned"),
        QueueFilter(specialty=who[0].specialty_id or "", form_of_care="urgent"),
        QueueFilter(day=date(2025, 6, 2), due_by=date(2025, 6, 5)),
        QueueFilter(day=date(2026, 1, 9), due_by=date(2026, 2, 1)),
    ]
    positions = [
        None,
        paging.Position(now - timedelta(days=30), "1" * 36),
        paging.Position(now + timedelta(hours=5), "2" * 36),
    ]
    checked = 0
    for n, (person, queue, filters, after) in enumerate(
        product(who, QUEUE_LISTS.values(), narrowed, positions)
    ):
        when, limit = now + timedelta(minutes=7 * (n % 3)), (25, 3)[n % 2]
        holes = Holes()
        shaped = paging._page_query(
            person, queue, when, filters=filters, after=after, limit=limit, bind=holes
        )
        plain = paging._page_query(person, queue, when, filters=filters, after=after, limit=limit, bind=as_is)
        assert compiled(database, ("page", queue.name), shaped, holes) == _fresh(plain)
        checked += 1
    for person, filters, when in product(who, narrowed, (now, now - timedelta(hours=3))):
        names = ["overdue", "new_not_overdue", "in_work", "closed"]
        holes = Holes()
        shaped = paging._counts_query(person, when, filters, names, holes)
        plain = paging._counts_query(person, when, filters, names, as_is)
        assert compiled(database, ("counts", *names), shaped, holes) == _fresh(plain)
    assert checked == 4 * 5 * 7 * 3


def test_rows_read_by_id_are_those_asked_for_however_many(central_app) -> None:  # type: ignore[no-untyped-def]
    _, data = central_app
    statements.forget()
    patients = [p.id for p in Patient.select(Patient.id)]
    posts = [o.id for o in Organization.select(Organization.id)]
    for count in range(1, min(len(patients), 9) + 1):
        assert set(paging._by_id(Patient, set(patients[:count]))) == set(patients[:count])
    assert set(paging._by_id(Organization, set(posts) | {None})) == set(posts)
    assert paging._by_id(Appeal, {None}) == {}
