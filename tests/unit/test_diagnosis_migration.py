"""Protocols sent before the national МКБ-10 keep their codes, now with Russian titles and roles."""

from __future__ import annotations

from sync.db import database
from sync.migrations import migrate
from sync.models import Diagnosis, Protocol
from sync.state import CENTRAL_MIGRATIONS
from tests.unit.test_appeal_lifecycle import _book, _people


def test_old_diagnoses_get_russian_titles_and_roles_in_place(seeded) -> None:  # type: ignore[no-untyped-def]
    consultant, *_ = _people(seeded)
    appeal = _book(seeded)
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
