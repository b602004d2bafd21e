"""Protocols sent before the national МКБ-10 keep their codes, now with Russian titles and roles."""

from __future__ import annotations

import uuid

from domain.models import Diagnosis, Protocol
from sync.apply import apply_records
from sync.clock import HybridClock
from sync.db import database
from sync.migrations import migrate
from sync.state import CENTRAL_MIGRATIONS
from tests.helpers.data import appeal_parties, book_appeal


def test_old_diagnoses_get_russian_titles_and_roles_in_place(seeded) -> None:  # type: ignore[no-untyped-def]
    consultant, *_ = appeal_parties(seeded)
    appeal = book_appeal(seeded)
    appeal.take_in_work(consultant, now=appeal.slot.starts_at)
    Protocol.send(
        appeal,
        consultant,
        anamnesis="",
        recommendations="Амоксициллин 1 г 3 раза в день",
        diagnoses=[("J18.9", ""), ("I10", ""), ("E11.9", "СД 2 типа, компенсирован")],
    )
    # As an older faplink stored them: the WHO's English titles, and «main» everywhere
    # (the role column's default when it was added).
    Diagnosis.update({Diagnosis.role: "main"}).execute()
    Diagnosis.update({Diagnosis.title: "Pneumonia, unspecified"}).where(Diagnosis.code == "J18.9").execute()
    Diagnosis.update({Diagnosis.title: "Essential (primary) hypertension"}).where(
        Diagnosis.code == "I10"
    ).execute()
    stamps = {d.id: (d.hlc, d.seq) for d in Diagnosis.select()}
    db = database.obj
    db.execute_sql("DELETE FROM schema_migration WHERE id = 'sync.0005_clinical_correctness'")

    assert migrate(db, CENTRAL_MIGRATIONS) == ["sync.0005_clinical_correctness"]

    stored = {d.code: (d.title, d.role) for d in Diagnosis.select()}
    assert stored == {
        "J18.9": ("Пневмония неуточненная", "main"),
        "I10": ("Эссенциальная [первичная] гипертензия", "concomitant"),
        "E11.9": ("СД 2 типа, компенсирован", "concomitant"),
    }
    # Each side converts its own copy: nothing is queued to be sent again.
    assert {d.id: (d.hlc, d.seq) for d in Diagnosis.select()} == stamps


def test_a_post_still_takes_an_old_protocols_heading_code_from_central(seeded) -> None:  # type: ignore[no-untyped-def]
    consultant, *_ = appeal_parties(seeded)
    appeal = book_appeal(seeded)
    appeal.take_in_work(consultant, now=appeal.slot.starts_at)
    protocol = Protocol.send(appeal, consultant, anamnesis="", recommendations="Контроль", diagnoses=[])
    # J18 stood in protocols before only the most detailed codes were allowed: such a row,
    # pulled from central, is stored as it is, while a new protocol may not use it.
    record = {
        "model": "diagnosis",
        "id": str(uuid.uuid4()),
        "origin": "central",
        "changed_by": "central",
        "hlc": HybridClock("central").now(),
        "deleted": False,
        "fields": {"protocol": protocol.id, "code": "J18", "title": "Pneumonia", "role": "main"},
    }
    result = apply_records([record], peer="central", from_central=True)
    assert (result.applied, result.refused) == (1, [])
    assert [(d.code, d.role) for d in Diagnosis.select()] == [("J18", "main")]
