"""The queue's queries walk indexes on SQLite: EXPLAIN QUERY PLAN shows no scan of the appeal table
(central's SQLite runs without ANALYZE statistics, so the plan is the planner's rule, not data's)."""

from __future__ import annotations

import re

from domain.models import Staff
from sync.db import database
from tests.helpers.queue import bulk_appeals, staff
from tests.helpers.queue_plans import queue_queries


def _full_walks(sql: str, params: list[object]) -> list[str]:
    """Plan lines that read all of appeal, or all the rows a branch matches: a scan of the table
    ("SCAN t1") or of a whole index ("SCAN t1 USING INDEX …"), or a sort of a branch's rows
    (a page's branch must come in its index's order; only the few candidates are sorted)."""
    aliases = set(re.findall(r'"appeal" AS "(\w+)"', sql))
    plan = {row[0]: (row[1], row[3]) for row in database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params)}

    def in_branch(node: int) -> bool:
        while node in plan:
            node, detail = plan[node]
            if detail.startswith("CO-ROUTINE arm"):
                return True
        return False

    bad = []
    for node, (_parent, detail) in plan.items():
        scan = re.match(r"SCAN (\w+)", detail)
        if scan and scan.group(1) in aliases:
            bad.append(detail)
        if detail.startswith("USE TEMP B-TREE FOR ORDER BY") and in_branch(node):
            bad.append(detail)
    return bad


def test_every_queue_query_searches_an_index_of_appeal(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    bulk_appeals(data, 3000)
    admin = Staff.get(Staff.role == "admin")
    for who in (staff(data, "ivanova"), admin):
        # The rows' patients, posts and doctors are read by id, table by table; the lists from appeal.
        queries = [
            (sql, params) for sql, params in queue_queries(who, data.posts[0][0]) if 'FROM "appeal"' in sql
        ]
        assert len(queries) > 40
        for sql, params in queries:
            assert _full_walks(sql, params) == [], sql
