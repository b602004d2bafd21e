"""A consultant's «доступность для пациентов» decides who may be booked to them.

«Все пациенты региона», «только прикреплённые к медицинской организации врача»
(a post is attached through its «Головная организация»), «только пациенты,
которым врач выдал направление»: at the post's wizard and API, at central's
«Запись на консультацию», and when a post's appeal arrives at central by sync.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from domain.booking import book_appeal
from domain.models import Appeal, Organization, Patient, Referral, Region, Role, Staff
from domain.models.directory import Visibility
from sync.apply import apply_records
from sync.clock import HybridClock
from sync.db import open_database
from sync.migrations import applied, migrate
from sync.state import CENTRAL_MIGRATIONS
from tests.helpers.appeals import PATIENT, in_work
from tests.helpers.data import future_slot, rows
from tests.helpers.web import login

NODE = "post-node-1"
clock = HybridClock(NODE)


def _set_visibility(staff_id: str, visibility: str) -> Staff:
    staff = Staff.get_by_id(staff_id)
    staff.visibility = visibility
    staff.save()
    return staff


def _detach(post_id: str) -> None:
    Organization.update(parent=None).where(Organization.id == post_id).execute()


def _refer(patient_id: str, author_id: str, *, consultant_id: str | None = None, **extra: Any) -> Referral:
    author = Staff.get_by_id(consultant_id or author_id)
    patient = Patient.get_by_id(patient_id)
    return Referral.create(
        patient=patient,
        post=patient.organization_id,
        author=author_id,
        specialty=author.specialty_id,
        consultant=consultant_id,
        justification="Контроль после лечения",
        **extra,
    )


# --- the post: the wizard's list of consultants, its slot step, the JSON API -----------------


def _node_offers(client: Any, patient: str, consultant: Staff) -> bool:
    page = client.get("/book/doctor", query_string={"patient": patient}).get_data(as_text=True)
    listed = client.get("/api/v1/consultants", query_string={"patient": patient}).get_json()
    in_api = consultant.id in {c["id"] for c in listed["consultants"]}
    assert (consultant.full_name in page) == in_api
    return in_api


def _node_book(client: Any, token: str, patient: str, consultant: Staff) -> Any:
    body = {
        "patient": patient,
        "consultant": consultant.id,
        "slot": future_slot(consultant).id,
        "form_of_care": "planned",
        "question": "Коррекция терапии?",
        "consent_by": "patient",  # the ИДС to the consultation
    }
    return client.post("/api/v1/appeals", json=body, headers={"X-CSRF-Token": token})


def test_node_region_visibility_offers_every_patient(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    client = app.test_client()
    token = login(client, "fap1")
    patient = data.patients[PATIENT]
    doctor = _set_visibility(data.consultants["kuznetsova"], Visibility.REGION)
    _detach(data.posts[0][0])  # region visibility does not care about the post's organisation
    assert _node_offers(client, patient, doctor)
    assert _node_book(client, token, patient, doctor).status_code == 201
    assert rows(Appeal) == 1


def test_node_organization_visibility_needs_an_attached_post(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    client = app.test_client()
    token = login(client, "fap1")
    patient = data.patients[PATIENT]
    post = Organization.get_by_id(data.posts[0][0])
    assert post.parent_id == data.centre_id  # the seed: the post is a unit of the centre
    doctor = _set_visibility(data.consultants["kuznetsova"], Visibility.ORGANIZATION)

    _detach(post.id)
    assert not _node_offers(client, patient, doctor)
    step = client.get(
        "/book/slot", query_string={"patient": patient, "consultant": doctor.id}, follow_redirects=True
    )
    assert "прикреплённых к своей медицинской организации" in step.get_data(as_text=True)
    assert "Изменить дату и время" not in step.get_data(as_text=True)
    slots = client.get(f"/api/v1/consultants/{doctor.id}/slots", query_string={"patient": patient})
    assert slots.status_code == 400
    refused = _node_book(client, token, patient, doctor)
    assert refused.status_code == 400
    assert "прикреплённых к своей медицинской организации" in refused.get_json()["message"]
    assert rows(Appeal) == 0

    Organization.update(parent=data.centre_id).where(Organization.id == post.id).execute()
    assert _node_offers(client, patient, doctor)
    assert _node_book(client, token, patient, doctor).status_code == 201
    assert rows(Appeal) == 1


def test_node_referred_visibility_needs_a_valid_referral(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    client = app.test_client()
    token = login(client, "fap1")
    patient = data.patients[PATIENT]
    doctor = _set_visibility(data.consultants["kuznetsova"], Visibility.REFERRED)
    other = data.consultants["ivanova"]

    assert not _node_offers(client, patient, doctor)
    # Neither an expired or cancelled referral of hers nor someone else's referral elsewhere counts.
    _refer(patient, doctor.id, valid_until=date.today() - timedelta(days=1))
    _refer(patient, doctor.id, status="cancelled")
    _refer(patient, other)
    assert not _node_offers(client, patient, doctor)
    refused = _node_book(client, token, patient, doctor)
    assert refused.status_code == 400
    assert "по своему направлению" in refused.get_json()["message"]
    assert rows(Appeal) == 0

    # A feldsher's referral naming her does not: access is the doctors' to give.
    feldsher = Staff.get(Staff.role == Role.FELDSHER).id
    _refer(patient, feldsher, consultant_id=doctor.id, valid_until=date.today() + timedelta(days=10))
    assert not _node_offers(client, patient, doctor)

    # A referral of another doctor naming her as the doctor opens the booking.
    _refer(patient, other, consultant_id=doctor.id, valid_until=date.today() + timedelta(days=10))
    assert _node_offers(client, patient, doctor)
    assert _node_book(client, token, patient, doctor).status_code == 201
    assert rows(Appeal) == 1


def test_node_referral_issued_by_the_consultant_opens_the_booking(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    client = app.test_client()
    token = login(client, "fap1")
    patient = data.patients[PATIENT]
    doctor = _set_visibility(data.consultants["kuznetsova"], Visibility.REFERRED)
    _refer(patient, doctor.id)  # бессрочно
    assert _node_offers(client, patient, doctor)
    # Another patient of the same post still does not see her.
    others = [p for name, p in data.patients.items() if name.endswith("@1") and p != patient]
    assert others and not _node_offers(client, others[0], doctor)
    assert _node_book(client, token, patient, doctor).status_code == 201


# --- central: «Запись на консультацию» ----------------------------------------------------------


def _central_offers(client: Any, appeal: Appeal, doctor: Staff) -> bool:
    page = client.get(f"/appeals/{appeal.id}/routing/booking").get_data(as_text=True)
    return f'value="{doctor.id}"' in page


def _central_book(client: Any, token: str, appeal: Appeal, doctor: Staff) -> Any:
    fields = {
        "csrf_token": token,
        "consultant": doctor.id,
        "slot": future_slot(doctor).id,
        "question": "Повторная консультация",
        "consent_by": "patient",  # the ИДС to the new consultation
    }
    return client.post(f"/appeals/{appeal.id}/routing/booking", data={**fields, "step": "create"})


def test_central_booking_follows_each_visibility(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client = app.test_client()
    appeal, token = in_work(client, data)
    before = rows(Appeal)
    doctor = Staff.get_by_id(data.consultants["smirnov"])

    # region: offered
    _set_visibility(doctor.id, Visibility.REGION)
    assert _central_offers(client, appeal, doctor)

    # organization: the post is a unit of the centre; detached, the patient is refused
    _set_visibility(doctor.id, Visibility.ORGANIZATION)
    assert _central_offers(client, appeal, doctor)
    _detach(appeal.post_id)
    assert not _central_offers(client, appeal, doctor)
    refused = _central_book(client, token, appeal, doctor)
    assert refused.status_code == 400
    assert "прикреплённых к своей медицинской организации" in refused.get_data(as_text=True)
    assert rows(Appeal) == before

    # referred: refused without a referral, booked with one he issued
    _set_visibility(doctor.id, Visibility.REFERRED)
    assert not _central_offers(client, appeal, doctor)
    refused = _central_book(client, token, appeal, doctor)
    assert refused.status_code == 400 and "по своему направлению" in refused.get_data(as_text=True)
    assert rows(Appeal) == before
    _refer(appeal.patient_id, doctor.id)
    assert _central_offers(client, appeal, doctor)
    assert _central_book(client, token, appeal, doctor).status_code == 302
    assert rows(Appeal) == before + 1


def test_central_region_visibility_books(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client = app.test_client()
    appeal, token = in_work(client, data)
    doctor = _set_visibility(data.consultants["smirnov"], Visibility.REGION)
    _detach(appeal.post_id)
    assert _central_offers(client, appeal, doctor)
    assert _central_book(client, token, appeal, doctor).status_code == 302
    assert Appeal.select().where(Appeal.consultant == doctor.id).count() == 1


# --- central: an appeal arriving from a post by sync ------------------------------------------


def _wire_appeal(data: Any, doctor: Staff) -> dict[str, Any]:
    """An appeal as a post would push it (made with the rules, then removed from central)."""
    post = data.posts[0][0]
    appeal = book_appeal(
        consent_by="patient",  # the ИДС to the consultation
        patient=Patient.get_by_id(data.patients[PATIENT]),
        author=Staff.get(Staff.organization == post),
        specialty=doctor.specialty,
        consultant=doctor,
        slot=future_slot(doctor),
        form_of_care="planned",
        question="Коррекция терапии?",
    )
    record = appeal.to_wire() | {"id": str(uuid.uuid4()), "origin": NODE, "changed_by": NODE}
    Appeal.delete().where(Appeal.id == appeal.id).execute()
    return record


def test_central_refuses_a_synced_appeal_the_patient_may_not_book(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    doctor = Staff.get_by_id(seeded.consultants["smirnov"])
    record = _wire_appeal(seeded, doctor)
    _set_visibility(doctor.id, Visibility.REFERRED)
    result = apply_records([record | {"hlc": clock.now()}], peer=NODE, from_central=False, scope_org=post)
    assert result.applied == 0 and len(result.refused) == 1
    assert "по своему направлению" in result.refused[0]["message"]
    assert rows(Appeal) == 0

    _set_visibility(doctor.id, Visibility.ORGANIZATION)
    result = apply_records([record | {"hlc": clock.now()}], peer=NODE, from_central=False, scope_org=post)
    assert result.applied == 1 and not result.refused  # the post is a unit of the centre
    # Later edits of an accepted appeal are not re-judged when the setting changes.
    _set_visibility(doctor.id, Visibility.REFERRED)
    edit = record | {"hlc": clock.now()}
    edit["fields"] = edit["fields"] | {"question": "Уточнение"}
    result = apply_records([edit], peer=NODE, from_central=False, scope_org=post)
    assert result.applied == 1 and Appeal.get_by_id(record["id"]).question == "Уточнение"


# --- central's admin: «Головная организация» -------------------------------------------------


def test_the_administrator_sets_the_posts_medical_organisation(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client = app.test_client()
    token = login(client, "admin")
    post_id, post_name = data.posts[1]
    form = client.get("/admin/organizations", query_string={"edit": post_id}).get_data(as_text=True)
    assert "Головная организация" in form
    crb = Organization.create(name="ЦРБ г. Лихославль", kind="centre", region=data.region_id)
    fields = {"csrf_token": token, "id": post_id, "name": post_name, "kind": "post", "region": data.region_id}
    saved = client.post("/admin/organizations", data={**fields, "parent": crb.id}, follow_redirects=True)
    assert saved.status_code == 200 and "ЦРБ г. Лихославль" in saved.get_data(as_text=True)
    assert Organization.get_by_id(post_id).parent_id == crb.id
    itself = client.post("/admin/organizations", data={**fields, "parent": post_id})
    assert itself.status_code == 400
    assert "не может быть головной для самой себя" in itself.get_data(as_text=True)
    used = client.post(
        f"/admin/organizations/{crb.id}/delete", data={"csrf_token": token}, follow_redirects=True
    )
    assert "она головная для других организаций (1)" in used.get_data(as_text=True)
    assert not Organization.get_by_id(crb.id).deleted
    client.post("/admin/organizations", data={**fields, "parent": ""})
    assert Organization.get_by_id(post_id).parent_id is None


# --- the migration -------------------------------------------------------------------------------


def _as_before_0004(db: Any) -> None:
    """Rebuild the organisation table as it was before 0004 (no «Головная организация»)."""
    ddl = db.execute_sql("SELECT sql FROM sqlite_master WHERE name = 'organization'").fetchone()[0]
    old = ddl.replace('CREATE TABLE "organization"', 'CREATE TABLE "organization_old"')
    old = old.replace(', "parent_id" VARCHAR(36)', "")
    old = old.replace(', FOREIGN KEY ("parent_id") REFERENCES "organization" ("id")', "")
    assert "parent_id" not in old
    columns = ", ".join(c.name for c in db.get_columns("organization") if c.name != "parent_id")
    db.execute_sql("PRAGMA foreign_keys = OFF")
    db.execute_sql(old)
    db.execute_sql(f"INSERT INTO organization_old ({columns}) SELECT {columns} FROM organization")
    db.execute_sql("DROP TABLE organization")
    db.execute_sql("ALTER TABLE organization_old RENAME TO organization")
    db.execute_sql("PRAGMA foreign_keys = ON")
    db.execute_sql("DELETE FROM schema_migration WHERE id = 'sync.0004_organization_parent'")


def test_organization_parent_migration_is_idempotent(tmp_path: Path) -> None:
    db = open_database(tmp_path / "old.db")
    migrate(db, CENTRAL_MIGRATIONS)
    region = Region.create(name="Тверская область")
    centre = Organization.create(name="Областная больница", kind="centre", region=region)
    _as_before_0004(db)
    assert "parent_id" not in {c.name for c in db.get_columns("organization")}
    assert migrate(db, CENTRAL_MIGRATIONS) == ["sync.0004_organization_parent"]
    assert migrate(db, CENTRAL_MIGRATIONS) == []
    # Run again with the record gone: the column is checked first, nothing breaks.
    db.execute_sql("DELETE FROM schema_migration WHERE id = 'sync.0004_organization_parent'")
    assert migrate(db, CENTRAL_MIGRATIONS) == ["sync.0004_organization_parent"]
    assert "sync.0004_organization_parent" in applied(db)
    # The old rows are kept, without a parent; a post can now name its organisation.
    assert Organization.get_by_id(centre.id).parent_id is None
    post = Organization.create(name="ФАП д. Медное", kind="post", region=region, parent=centre)
    assert Organization.get_by_id(post.id).parent_id == centre.id
    assert [o.name for o in centre.units] == ["ФАП д. Медное"]
    assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []
    db.close()
