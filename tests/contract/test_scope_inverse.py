"""The replication scope asked both ways gives one answer.

Central tells a linked post of a change when the post's pull would bring the changed row.
It asks that once per changed model (`posts_pulling`: which posts pull these rows?), not
once per post (`pulled_by_post`: which of these rows does this post pull?). Over the demo's
seeded data, grown with one row of everything a consultation makes and a second region,
every row of every replicated model, for every organisation, the two agree exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from domain import booking as domain_booking
from domain.models import (
    REPLICATED_MODELS,
    AccessAction,
    Attachment,
    CallLog,
    ChatMessage,
    Diagnosis,
    Exam,
    FormOfCare,
    Observation,
    Organization,
    OrgKind,
    Patient,
    Protocol,
    Referral,
    Region,
    Role,
    ScheduleTemplate,
    Slot,
    Specialty,
    Staff,
    StaffCredential,
    SupportRequest,
    append_entry,
)
from sync import model as sync_model
from sync.changes import in_post_scope, pulled_by_post
from sync.clock import utcnow
from sync.model import SyncModel
from tests.helpers.data import future_slot

SHA = "ab" * 32


def _a_consultation_at(post_id: str, patient: Patient, consultant: Staff) -> None:
    """What one consultation of the post leaves: an appeal, its exam and vitals, a protocol with a
    diagnosis, files, a chat, a call; a referral, a call-back request, an access to a record."""
    feldsher = Staff.get((Staff.organization == post_id) & (Staff.role == Role.FELDSHER))
    appeal = domain_booking.book_appeal(
        consent_by="patient",
        patient=patient,
        author=feldsher,
        specialty=Specialty.get_by_id(consultant.specialty_id),
        consultant=consultant,
        slot=future_slot(consultant),
        form_of_care=FormOfCare.PLANNED,
        question="Нужна ли госпитализация?",
    )
    exam = Exam.create(
        patient=patient, post=post_id, author=feldsher, appeal=appeal, complaints="Головная боль"
    )
    alone = Exam.create(patient=patient, post=post_id, author=feldsher, complaints="Кашель")
    Observation.create(exam=exam, loinc="8867-4", value=82, unit="/min")
    protocol = Protocol.create(appeal=appeal, consultant=consultant, recommendations="Контроль АД")
    Diagnosis.create(protocol=protocol, code="I10", role="main")
    files = {"filename": "ecg.pdf", "content_type": "application/pdf", "size": 10, "sha256": SHA}
    on_appeal = Attachment.create(appeal=appeal, uploaded_by=feldsher, **files)
    Attachment.create(exam=alone, uploaded_by=feldsher, **files)
    Attachment.create(appeal=appeal, exam=exam, uploaded_by=feldsher, **files)
    ChatMessage.create(appeal=appeal, author=consultant, text="Добрый день", attachment=on_appeal)
    CallLog.create(appeal=appeal, caller=consultant, mode="video", outcome="completed", duration_s=60)
    Referral.create(
        patient=patient,
        post=post_id,
        author=consultant,
        specialty=consultant.specialty,
        justification="Контроль ЭКГ",
        source_appeal=appeal,
        created_at=utcnow(),
    )
    SupportRequest.create(
        kind="callback", author=feldsher, organization=post_id, phone="+79123456789", text="Перезвоните"
    )
    append_entry(
        action=AccessAction.VIEW, kind="patient", staff=feldsher, organization=post_id, patient=patient.id
    )


def _another_region() -> None:
    """A second region: its centre with a consultant and a timetable, a post under that centre
    and one with no head organisation; and a login for the consultant."""
    region = Region.create(name="Тверская область")
    centre = Organization.create(name="ЦРБ г. Лихославль", kind=OrgKind.CENTRE, region=region)
    Organization.create(name="ФАП с. Микшино", kind=OrgKind.POST, region=region, parent=centre)
    Organization.create(name="ФАП д. Крючково", kind=OrgKind.POST, region=region)
    doctor = Staff.create(
        last_name="Орлов",
        first_name="Павел",
        role=Role.CONSULTANT,
        organization=centre,
        specialty=Specialty.select().first(),
    )
    StaffCredential.create(staff=doctor, login="orlov", password_hash="$argon2id$not-a-real-hash")
    today = date(2026, 3, 2)  # any dates: only whose timetable it is matters here
    template = ScheduleTemplate.create(
        consultant=doctor,
        name="Приём по вторникам",
        date_from=today,
        date_to=today + timedelta(days=7),
        weekdays="2",
        first_time="09:00",
        last_time="11:45",
    )
    starts = utcnow() + timedelta(days=1)
    Slot.create(
        consultant=doctor, starts_at=starts, ends_at=starts + timedelta(minutes=30), template=template
    )


@pytest.fixture
def grown(seeded) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    for n, (post_id, _name) in enumerate(seeded.posts, start=1):
        patient = Patient.get_by_id(seeded.patients[f"Кузьмин Пётр Васильевич@{n}"])
        consultant = Staff.get_by_id(seeded.consultants[("ivanova", "smirnov")[n - 1]])
        _a_consultation_at(post_id, patient, consultant)
    _another_region()
    yield seeded


def _by_post(model: type[SyncModel], ids: list[str], organizations: list[str]) -> dict[str, set[str]]:
    """The pull's own answer, asked post by post: row id → the organisations that pull it."""
    found: dict[str, set[str]] = {}
    for organization in organizations:
        for row_id in pulled_by_post(model, ids, organization):
            found.setdefault(row_id, set()).add(organization)
    return found


@pytest.mark.parametrize("batch", [sync_model.PULLING_BATCH, 7])
def test_who_pulls_a_row_is_answered_alike_asked_per_post_or_once(grown, monkeypatch, batch: int) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sync_model, "PULLING_BATCH", batch)  # several queries for one change
    organizations = [o.id for o in Organization.select(Organization.id)]
    assert len(organizations) == 6
    for model in REPLICATED_MODELS:
        ids = [row.id for row in model.select(model.id)]
        assert ids, f"no {model.__name__} rows to compare"
        once = model.posts_pulling(ids)
        assert once == _by_post(model, ids, organizations), model.__name__
        # And the inverse of the scope itself, for the rows posts write but never pull.
        scoped = {
            (row.id, organization)
            for organization in organizations
            for row in in_post_scope(model, model.select(model.id).where(model.id.in_(ids)), organization)
        }
        assert set(model.post_pairs(ids).tuples()) == scoped, model.__name__


def test_a_post_in_another_region_pulls_none_of_this_region_s_rows(grown) -> None:  # type: ignore[no-untyped-def]
    """Not vacuous: the scope does divide the rows between the posts."""
    ours = grown.posts[0][0]
    theirs = Organization.get(Organization.name == "ФАП с. Микшино").id
    slots = [s.id for s in Slot.select(Slot.id)]
    pulling = Slot.posts_pulling(slots)
    # Every slot but the other region's one (how many the seed made depends on the hour it ran).
    assert len(slots) > 2
    assert sum(ours in posts for posts in pulling.values()) == len(slots) - 1
    assert sum(theirs in posts for posts in pulling.values()) == 1
    appeals = Exam.posts_pulling([e.id for e in Exam.select(Exam.id)])
    assert {frozenset(posts) for posts in appeals.values()} == {frozenset({p}) for p, _ in grown.posts}


def _queries(caplog: pytest.LogCaptureFixture, ask: Any) -> tuple[Any, int]:
    """What `ask()` answers, and how many SQL statements it ran."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        answer = ask()
    return answer, sum(1 for r in caplog.records if r.name == "peewee")


def test_telling_the_linked_posts_costs_the_same_for_two_posts_or_a_thousand(grown, caplog) -> None:  # type: ignore[no-untyped-def]
    from central.live.feed import notices_between
    from sync.changes import latest_seq

    before = latest_seq()
    _a_consultation_at(
        grown.posts[0][0],
        Patient.get_by_id(grown.patients["Кузьмин Пётр Васильевич@1"]),
        Staff.get_by_id(grown.consultants["kuznetsova"]),
    )
    upto = latest_seq()
    ours = {post_id for post_id, _ in grown.posts}
    fleet = ours | {f"post-{n:04}" for n in range(998)}  # linked posts with nothing changed here

    few, few_queries = _queries(caplog, lambda: notices_between(before, upto, ours.__and__))
    many, many_queries = _queries(caplog, lambda: notices_between(before, upto, fleet.__and__))
    assert [n.room for n in many if n.event == "changes"] == [f"post:{grown.posts[0][0]}"]
    assert many == few
    assert few_queries > 0 and many_queries == few_queries
