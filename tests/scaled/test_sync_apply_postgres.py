"""A push's new rows inserted together on PostgreSQL: a failed statement is undone, rows retried alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.models import Patient
from sync.apply import apply_records
from sync.state import PendingRecord
from tests.helpers.data import rows
from tests.helpers.pushes import NODE, numbered_patient_record


@pytest.fixture
def pg_seeded(tmp_path: Path, pg_url: str):  # type: ignore[no-untyped-def]
    from central import create_app
    from faplink.demo_seed import seed
    from sync.db import database

    create_app({"DATA_DIR": tmp_path / "central", "DATABASE_URL": pg_url, "TESTING": True})
    data = seed(days=1, weekends=True)
    yield data
    database.close()


def test_a_big_push_with_a_waiting_child_and_bad_records_on_postgresql(pg_seeded) -> None:  # type: ignore[no-untyped-def]
    post, theirs = pg_seeded.posts[0][0], pg_seeded.posts[1][0]
    parent = numbered_patient_record(post, 1)
    child = numbered_patient_record(
        post, 2, representative=parent["id"], representative_relation="mother", first_name="Маша"
    )
    good = [numbered_patient_record(post, n) for n in range(10, 1210)]
    bad_phone = numbered_patient_record(post, 3, phone="12")
    foreign = numbered_patient_record(theirs, 4)
    batch = [*good[:600], child, bad_phone, *good[600:], foreign]
    before = rows(Patient)

    result = apply_records(batch, peer=NODE, from_central=False, scope_org=post)

    assert (result.applied, result.pending) == (1200, 1)
    assert sorted(r["id"] for r in result.refused) == sorted([bad_phone["id"], foreign["id"]])
    assert rows(Patient) == before + 1200
    stored = Patient.get_by_id(good[700]["id"])
    assert stored.to_wire()["fields"] == good[700]["fields"] | {"field_stamps": "{}"}
    assert stored.deleted is False and stored.hlc == good[700]["hlc"]

    second = apply_records([parent], peer=NODE, from_central=False, scope_org=post)
    assert second.applied == 1 and rows(PendingRecord) == 0
    assert Patient.get_by_id(child["id"]).representative_id == parent["id"]
    again = apply_records(batch, peer=NODE, from_central=False, scope_org=post)
    assert (again.applied, again.stale) == (0, 1201)
