"""The FHIR API and its bulk export on PostgreSQL: the same resources as on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.fhir.access import Reader
from central.fhir.export import export_ndjson
from tests.helpers.fhir import read_ndjson, validate, walk_one_appeal


@pytest.fixture
def pg_central(tmp_path: Path, pg_url: str):  # type: ignore[no-untyped-def]
    from central import create_app
    from faplink.demo_seed import seed
    from sync.db import database

    app = create_app({"DATA_DIR": tmp_path / "central", "DATABASE_URL": pg_url, "TESTING": True})
    data = seed(days=2, weekends=True)
    yield app, data
    database.close()


def test_everything_and_the_export_on_postgresql(pg_central, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, data = pg_central
    client = app.test_client()
    case = walk_one_appeal(app, client, data)
    bundle = client.get(f"/fhir/R4/Patient/{case.patient.id}/$everything").get_json()
    validate(bundle)
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} >= {
        "Patient",
        "ServiceRequest",
        "Observation",
        "Composition",
        "Condition",
        "DocumentReference",
        "Consent",
    }
    name = client.get("/fhir/R4/Patient?name=кузьмин").get_json()
    assert name["total"] == 1

    result = export_ndjson(tmp_path / "out", Reader(everything=True), batch=2)
    found = read_ndjson(tmp_path / "out")
    assert result.counts["Observation"] == len(found["Observation"]) == 4
    assert [r["id"] for r in found["ServiceRequest"]] == [case.appeal.id]
