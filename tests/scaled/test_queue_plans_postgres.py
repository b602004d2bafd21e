"""The queue's queries walk indexes on PostgreSQL too: with a centre's history in the table and
its statistics gathered, EXPLAIN shows no sequential scan of appeal in any of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from domain.models import Staff
from sync.db import CENTRAL, bind_replica, database, open_database_url
from sync.migrations import migrate
from sync.state import CENTRAL_MIGRATIONS
from tests.helpers.queue import bulk_appeals, staff
from tests.helpers.queue_plans import queue_queries


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def test_no_queue_query_reads_the_whole_appeal_table(pg_url: str) -> None:
    from faplink.demo_seed import seed

    db = open_database_url(pg_url)
    try:
        migrate(db, CENTRAL_MIGRATIONS)
        bind_replica(CENTRAL)
        data = seed(days=1, weekends=True)
        bulk_appeals(data, 30_000)
        db.execute_sql("ANALYZE")
        walked: set[str] = set()
        for who in (staff(data, "ivanova"), Staff.get(Staff.role == "admin")):
            queries = [
                (sql, params)
                for sql, params in queue_queries(who, data.posts[0][0])
                if 'FROM "appeal"' in sql
            ]
            assert len(queries) > 40
            for sql, params in queries:
                plan = db.execute_sql(f"EXPLAIN (FORMAT JSON) {sql}", params).fetchone()[0][0]["Plan"]
                on_appeal = [node for node in _nodes(plan) if node.get("Relation Name") == "appeal"]
                assert on_appeal, sql
                assert [n for n in on_appeal if n["Node Type"] == "Seq Scan"] == [], sql
                walked |= {n["Index Name"] for n in on_appeal if "Index Name" in n}
        assert {
            "appeal_queue_all_due",
            "appeal_queue_specialty_due",
            "appeal_queue_taken_by_closed",
        } <= walked
    finally:
        database.close()
