"""«Журнал доступа»: every opening of a patient's data at the post and at central is a row
saying who, from where, what; a search or a failed login keeps no searched value or password."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from flask import Flask

from domain.booking import book_appeal
from domain.models import (
    AccessAction,
    AccessEntry,
    Appeal,
    Attachment,
    AttachmentKind,
    Organization,
    Patient,
    Role,
    Staff,
    StaffCredential,
    verify_chains,
)
from faplink.demo_seed import make_snils
from sync.clock import utcnow
from sync.db import CENTRAL
from tests.helpers.data import appeal_from_post as central_appeal
from tests.helpers.data import future_slot
from tests.helpers.web import login

SECRET_PASSWORD = "Тайна-пароль-9137"


def _rows(**where: str) -> list[AccessEntry]:
    query = AccessEntry.select().order_by(AccessEntry.origin, AccessEntry.position)
    for name, value in where.items():
        query = query.where(getattr(AccessEntry, name) == value)
    return list(query)


def _last() -> AccessEntry:
    return AccessEntry.select().order_by(AccessEntry.at.desc(), AccessEntry.position.desc()).first()


def _database_bytes(path: Path) -> bytes:
    """The database file and its WAL, as they lie on disk."""
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def _staff(login_name: str) -> Staff:
    return StaffCredential.get(StaffCredential.login == login_name).staff


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match
    return match.group(1)


# -- at the post ---------------------------------------------------------------------------


def _node_appeal(app: Flask, data) -> tuple[Appeal, Attachment, Attachment]:  # type: ignore[no-untyped-def]
    """An appeal of post 1 with the feldsher's file and the protocol's PDF from central."""
    post = data.posts[0][0]
    feldsher = _staff("fap1")
    doctor = Staff.get_by_id(data.consultants["ivanova"])
    patient = Patient.get_by_id(data.patients["Кузьмин Пётр Васильевич@1"])
    assert patient.organization_id == post
    appeal = book_appeal(
        consent_by="patient",
        patient=patient,
        author=feldsher,
        specialty=doctor.specialty,  # type: ignore[arg-type]
        consultant=doctor,
        slot=future_slot(doctor),
        form_of_care="planned",
        question="Повышение АД, коррекция терапии?",
        complaints="Головная боль",
    )
    blobs = app.extensions["blobs"]
    text = b"ECG: sinus rhythm 72/min"
    file = Attachment.create(
        appeal=appeal, filename="ecg.txt", content_type="text/plain", size=len(text),
        sha256=blobs.put(text), uploaded_by=feldsher,
    )  # fmt: skip
    pdf_bytes = b"%PDF-1.4\n% protocol\n%%EOF\n"
    pdf = Attachment.create(
        origin=CENTRAL, appeal=appeal, kind=AttachmentKind.PROTOCOL_PDF, filename="protocol.pdf",
        content_type="application/pdf", size=len(pdf_bytes), sha256=blobs.put(pdf_bytes),
    )  # fmt: skip
    return appeal, file, pdf


def test_the_feldshers_openings_at_the_post_are_journalled_with_who_and_what(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    post = data.posts[0][0]
    appeal, file, pdf = _node_appeal(app, data)
    feldsher = _staff("fap1")
    client = app.test_client()
    login(client, "fap1")
    signed_in = _last()
    assert signed_in.action == AccessAction.LOGIN
    assert (signed_in.staff_id, signed_in.role) == (feldsher.id, Role.FELDSHER)

    opened = {
        f"/patients/{appeal.patient_id}": ("view", "patient", appeal.patient_id),
        f"/patients/{appeal.patient_id}/edit": ("view", "patient", appeal.patient_id),
        f"/appeals/{appeal.id}": ("view", "appeal", appeal.id),
        f"/api/v1/appeals/{appeal.id}": ("view", "appeal", appeal.id),
        f"/appeals/{appeal.id}/protocol.pdf": ("download", "attachment", pdf.id),
        f"/api/v1/appeals/{appeal.id}/protocol.pdf": ("download", "attachment", pdf.id),
        f"/appeals/{appeal.id}/files/{file.id}": ("download", "attachment", file.id),
        f"/attachments/{file.id}": ("preview", "attachment", file.id),
    }
    for url, (action, kind, record) in opened.items():
        response = client.get(url)
        assert response.status_code == 200, url
        row = _last()
        assert (row.action, row.kind, row.record) == (action, kind, record), url
        assert row.staff_id == feldsher.id and row.organization_id == post, url
        assert row.patient == appeal.patient_id, url
        assert row.origin == "test-post-1" and row.address == "127.0.0.1"
    assert _last().detail == AttachmentKind.FILE
    pdf_rows = _rows(record=pdf.id)
    assert {r.detail for r in pdf_rows} == {AttachmentKind.PROTOCOL_PDF}

    # Someone else's appeal or a missing one: refused, and nothing journalled for it.
    before = AccessEntry.select().count()
    assert client.get("/appeals/00000000-0000-4000-8000-000000000000").status_code == 404
    assert AccessEntry.select().count() == before
    assert verify_chains() == (before, [])


def test_a_search_at_the_post_keeps_the_fields_and_results_never_the_value(node_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    client = app.test_client()
    login(client, "fap1")
    nobody = "Засекреченная"
    assert client.get("/patients", query_string={"q": nobody}).status_code == 200
    row = _last()
    assert (row.action, row.detail, row.records) == (AccessAction.SEARCH, "last_name", "")
    snils = make_snils("987654321")  # a valid SNILS no patient has
    assert not Patient.select().where(Patient.snils == snils).exists()
    found = client.get("/api/v1/patients", query_string={"q": snils}).get_json()["patients"]
    row = _last()
    assert row.action == AccessAction.SEARCH and row.detail == "phone,snils"
    assert row.records.split() == [p["id"] for p in found]
    phone = client.get("/api/v1/patients", query_string={"q": "8 912 100-45-67"}).get_json()["patients"]
    row = _last()
    assert sorted(row.records.split()) == sorted(p["id"] for p in phone) and len(phone) == 3
    stored = _database_bytes(tmp_path / "node" / "node.db")
    assert nobody.encode() not in stored and snils.encode() not in stored


def test_a_failed_login_at_the_post_keeps_neither_the_password_nor_the_name(node_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, _data = node_app
    client = app.test_client()
    wrong = client.post("/api/v1/session", json={"login": "fap1", "password": SECRET_PASSWORD})
    unknown = client.post("/api/v1/session", json={"login": "nosuch-person-77", "password": SECRET_PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    first, second = _rows(action=AccessAction.LOGIN_FAILED)
    assert first.staff_id is None and re.fullmatch(r"[0-9a-f]{64}", first.login_hash)
    assert first.login_hash != second.login_hash
    token = _csrf(client.get("/login").get_data(as_text=True))
    again = client.post("/login", data={"login": "FAP1 ", "password": "x", "csrf_token": token})
    assert again.status_code == 401
    assert _last().login_hash == first.login_hash  # the same name: attempts can be counted
    stored = _database_bytes(tmp_path / "node" / "node.db")
    assert SECRET_PASSWORD.encode() not in stored and b"nosuch-person-77" not in stored


# -- at central ----------------------------------------------------------------------------


def test_the_consultants_openings_at_central_are_journalled(central_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = central_appeal(data)
    doctor = Staff.get_by_id(data.consultants["ivanova"])
    blobs = app.extensions["blobs"]
    file = Attachment.create(
        appeal=appeal, kind=AttachmentKind.FILE, filename="ecg.txt", content_type="text/plain",
        size=7, sha256=blobs.put(b"ECG 72\n"), created_at=utcnow(),
    )  # fmt: skip
    client = app.test_client()
    token = login(client, "ivanova")
    assert _last().action == AccessAction.LOGIN and _last().staff_id == doctor.id
    assert client.get(f"/appeals/{appeal.id}").status_code == 200
    row = _last()
    assert (row.action, row.kind, row.record, row.patient) == ("view", "appeal", appeal.id, appeal.patient_id)
    assert row.staff_id == doctor.id and row.role == Role.CONSULTANT and row.origin == CENTRAL
    assert row.organization_id == doctor.organization_id
    assert client.get(f"/appeals/{appeal.id}/files/{file.id}").status_code == 200
    assert (_last().action, _last().record, _last().patient) == ("download", file.id, appeal.patient_id)
    assert client.get(f"/appeals/{appeal.id}/files/{file.id}/preview").status_code == 200
    assert (_last().action, _last().record) == ("preview", file.id)

    client.post(f"/api/v1/appeals/{appeal.id}/take", headers={"X-CSRF-Token": token})
    sent = client.post(
        f"/api/v1/appeals/{appeal.id}/protocol",
        json={
            "anamnesis": "АГ",
            "recommendations": "Лозартан 50 мг",
            "diagnoses": [{"code": "I10", "title": "Эссенциальная гипертензия"}],
        },
        headers={"X-CSRF-Token": token},
    )
    assert sent.status_code == 201, sent.get_json()
    for url in (f"/appeals/{appeal.id}/protocol.pdf", f"/api/v1/appeals/{appeal.id}/protocol.pdf"):
        assert client.get(url).status_code == 200
        row = _last()
        assert row.action == AccessAction.DOWNLOAD and row.patient == appeal.patient_id
        assert row.detail == AttachmentKind.PROTOCOL_PDF
    assert verify_chains()[1] == []


def test_a_failed_login_and_a_fhir_search_at_central_keep_no_password_or_value(central_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, _data = central_app
    client = app.test_client()
    refused = client.post("/login", data={"login": "ivanova", "password": SECRET_PASSWORD})
    assert refused.status_code == 401
    row = _last()
    assert row.action == AccessAction.LOGIN_FAILED and row.staff_id is None and len(row.login_hash) == 64
    login(client, "admin")
    nobody = "Засекреченная"
    assert client.get("/fhir/R4/Patient", query_string={"name": nobody}).status_code == 200
    row = _last()
    assert row.action == AccessAction.SEARCH and row.kind == "fhir:Patient"
    assert "name" in row.detail and nobody not in row.detail and row.staff_id == _staff("admin").id
    stored = _database_bytes(tmp_path / "central" / "central.db")
    assert SECRET_PASSWORD.encode() not in stored and nobody.encode() not in stored


# -- «Журнал доступа» at /admin/audit ---------------------------------------------------------


def test_the_administrator_filters_the_journal_and_exports_it_a_consultant_cannot(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = central_appeal(data)
    consultant = app.test_client()
    login(consultant, "ivanova")
    consultant.get(f"/appeals/{appeal.id}")
    assert consultant.get("/admin/audit").status_code == 403
    assert consultant.get("/admin/audit.csv").status_code == 403

    admin = app.test_client()
    login(admin, "admin")
    doctor = data.consultants["ivanova"]

    def shown(**query: str) -> str:
        response = admin.get("/admin/audit", query_string=query)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    everything = shown()
    assert "Журнал доступа" in everything and everything.count('class="audit-row"') >= 3
    by_patient = shown(patient=appeal.patient_id)
    assert by_patient.count('class="audit-row"') == 1 and appeal.id in by_patient
    assert shown(staff=doctor).count('class="audit-row"') == 2  # the login and the appeal
    today = utcnow().date().isoformat()
    assert shown(since="2001-01-01", until="2001-01-31").count('class="audit-row"') == 0
    assert shown(since=today, staff=doctor).count('class="audit-row"') == 2
    assert shown(staff=doctor, action="login").count('class="audit-row"') == 1

    exported = admin.get("/admin/audit.csv", query_string={"staff": doctor})
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["action"], r["kind"], r["record"]) for r in table] == [
        ("login", "", ""),
        ("view", "appeal", appeal.id),
    ]
    assert table[1]["patient"] == appeal.patient_id and table[1]["staff_name"].startswith("Иванова")
    # Reading the journal is journalled too.
    assert _last().kind == "access_journal" and _last().action == AccessAction.EXPORT


def test_an_auditor_reads_the_journal_and_nothing_else(central_app) -> None:  # type: ignore[no-untyped-def]
    from web.auth import hash_password

    app, data = central_app
    auditor = Staff.create(
        last_name="Ревизорова", first_name="Ольга", role=Role.AUDITOR,
        organization=Organization.get_by_id(data.centre_id),
    )  # fmt: skip
    StaffCredential.create(staff=auditor, login="auditor", password_hash=hash_password("demo1234"))
    client = app.test_client()
    landed = client.post("/login", data={"login": "auditor", "password": "demo1234"})
    assert landed.status_code == 302 and landed.headers["Location"].endswith("/admin/audit")
    assert client.get("/admin/audit").status_code == 200
    assert client.get("/admin/users").status_code == 403
    assert client.get("/appeals").status_code == 403
    form = app.test_client()
    login(form, "admin")
    assert "аудитор" in form.get("/admin/users/new").get_data(as_text=True)


def test_a_page_of_the_journal_on_100000_rows_is_read_from_indexes(central_app) -> None:  # type: ignore[no-untyped-def]
    """Speed is measured by benchmarks, not timed tests: here, that every filter's page is the
    right one and that SQLite answers it from an index (no scan of the whole journal)."""
    from central.admin.journal import JournalFilter, page
    from sync.db import database

    app, data = central_app
    doctor = data.consultants["ivanova"]
    now = utcnow()
    rows = [
        {
            "id": f"00000000-0000-4000-8000-{n:012d}", "origin": "kiosk-bulk", "changed_by": "kiosk-bulk",
            "hlc": f"{n:016d}", "seq": n, "position": n, "at": now, "staff": doctor if n % 10 == 0 else None,
            "role": "feldsher", "action": "view", "kind": "patient", "patient": f"p-{n % 5000}",
            "prev_hash": "0" * 64, "row_hash": "0" * 64,
        }
        for n in range(1, 100_001)
    ]  # fmt: skip
    with database.atomic():
        for start in range(0, len(rows), 2000):
            AccessEntry.insert_many(rows[start : start + 2000]).execute()
    admin = app.test_client()
    login(admin, "admin")
    since = now.date().isoformat()
    for query in ({}, {"staff": doctor}, {"patient": "p-42"}, {"page": "1000"}, {"since": since}):
        assert admin.get("/admin/audit", query_string=query).status_code == 200, query
    zone = JournalFilter().zone
    by_patient = page(JournalFilter(patient="p-42", zone=zone))
    # The 20 bulk rows of p-42, and the administrator's own look at them (the journal is journalled).
    assert len(by_patient.rows) >= 20 and {r.patient for r in by_patient.rows} == {"p-42"}
    by_staff = page(JournalFilter(staff=doctor, zone=zone), 3)
    assert by_staff.rows and {r.staff_id for r in by_staff.rows} == {doctor}
    for filters in (JournalFilter(patient="p-42", zone=zone), JournalFilter(staff=doctor, zone=zone)):
        sql, params = filters.query().sql()
        plan = " ".join(str(row) for row in database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan


def test_an_enrolment_bundle_is_an_export_of_the_posts_data(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client = app.test_client()
    token = login(client, "engineer")
    form = {"csrf_token": token, "organization": data.posts[0][0], "central_url": "http://centre.example:8700"}
    assert client.post("/fleet/bundle", data=form).status_code == 200
    row = _last()
    assert (row.action, row.kind, row.staff_id) == (AccessAction.EXPORT, "bundle", _staff("engineer").id)
    assert row.detail.startswith(f"post {data.posts[0][0]}: ")
