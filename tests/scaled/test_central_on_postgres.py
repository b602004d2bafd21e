"""central on PostgreSQL: the same operations and the same sync as on SQLite."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from domain.booking import book_appeal
from domain.migrations import SCHEMA_VERSION
from domain.models import Appeal, AppealStatus, Patient, Slot, Staff
from sync.apply import apply_records
from sync.changes import collect_changes
from sync.clock import utcnow
from sync.request_signing import NodeKey, signed_headers
from sync.server import register_node
from sync.wire import encode
from tests.helpers.web import login


@pytest.fixture
def pg_central(tmp_path: Path, pg_url: str):  # type: ignore[no-untyped-def]
    from central import create_app
    from faplink.demo_seed import seed
    from sync.db import database

    app = create_app({"DATA_DIR": tmp_path / "central", "DATABASE_URL": pg_url, "TESTING": True})
    data = seed(days=2, weekends=True)
    yield app, data
    database.close()


def test_consultant_closes_an_appeal_on_postgresql(pg_central) -> None:  # type: ignore[no-untyped-def]
    app, data = pg_central
    doctor = Staff.get_by_id(data.consultants["ivanova"])
    starts = utcnow() + timedelta(minutes=5)
    slot = Slot.create(consultant=doctor, starts_at=starts, ends_at=starts + timedelta(minutes=30))
    appeal = book_appeal(
        consent_by="patient",  # the ИДС to the consultation
        patient=Patient.get_by_id(data.patients["Кузьмин Пётр Васильевич@1"]),
        author=Staff.get(Staff.organization == data.posts[0][0]),
        specialty=doctor.specialty,
        consultant=doctor,
        slot=slot,
        form_of_care="planned",
        question="Коррекция терапии",
    )
    client = app.test_client()
    token = login(client, "ivanova")
    headers = {"X-CSRF-Token": token}
    assert client.post(f"/api/v1/appeals/{appeal.id}/take", headers=headers).status_code == 200
    sent = client.post(
        f"/api/v1/appeals/{appeal.id}/protocol",
        headers=headers,
        json={"recommendations": "Контроль АД", "diagnoses": [{"code": "I10", "title": ""}]},
    )
    assert sent.status_code == 201, sent.get_json()
    assert Appeal.get_by_id(appeal.id).status == AppealStatus.CLOSED
    assert client.get(f"/api/v1/appeals/{appeal.id}/protocol.pdf").status_code == 200


def test_a_post_pushes_and_pulls_through_postgresql(pg_central) -> None:  # type: ignore[no-untyped-def]
    import gzip
    import json

    app, data = pg_central
    post = data.posts[0][0]
    key = NodeKey.generate()
    register_node("kiosk-pg", post, key.public_hex)
    client = app.test_client()

    def signed(method: str, path: str, payload=None):  # type: ignore[no-untyped-def]
        body = encode(payload) if payload is not None else b""
        headers = signed_headers(key, "kiosk-pg", method, path, body) | {"Content-Encoding": "gzip"}
        return client.open(path, method=method, data=body, headers=headers)

    hello = signed("POST", "/sync/v1/hello", {"protocol": 1, "schema": SCHEMA_VERSION})
    assert hello.status_code == 200, hello.get_json()
    record = {
        "model": "patient",
        "id": "0b8f2d5e-5a57-4c2e-9a77-3c3f1f1e0001",
        "origin": "kiosk-pg",
        "changed_by": "kiosk-pg",
        "hlc": "1795839110665.000000.kiosk-pg",
        "deleted": False,
        "fields": {
            "last_name": "Белова",
            "first_name": "Нина",
            "middle_name": "",
            "birth_date": "1950-02-03",
            "sex": "female",
            "snils": None,
            "enp": None,
            "phone": "+79160001122",
            "address": "",
            "organization": post,
            "representative": None,
            "field_stamps": "{}",
        },
    }
    for _ in range(2):  # the second push is a re-send: it changes nothing
        pushed = signed("POST", "/sync/v1/push", {"records": [record]})
        assert pushed.status_code == 200, pushed.get_json()
    assert Patient.select().where(Patient.last_name == "Белова").count() == 1
    page = signed("GET", "/sync/v1/pull?cursor=0&limit=2000")
    body = page.data if not page.headers.get("Content-Encoding") else gzip.decompress(page.data)
    records = json.loads(body)["records"]
    assert {r["fields"]["organization"] for r in records if r["model"] == "patient"} == {post}
    assert "0b8f2d5e-5a57-4c2e-9a77-3c3f1f1e0001" not in {r["id"] for r in records}  # its own change
    rows, _ = collect_changes(0, 100_000, scope_org=post)
    assert any(r.id == record["id"] for r in rows)
    assert apply_records([record], peer="kiosk-pg", from_central=False, scope_org=post).stale == 1
