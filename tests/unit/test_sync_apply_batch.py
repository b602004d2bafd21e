"""A batch's new rows go in together: the same rows as one by one, and the same refusals."""

from __future__ import annotations

import uuid

from domain.booking import book_appeal
from domain.models import Patient, Protocol, Staff
from sync.apply import apply_records
from sync.clock import HybridClock
from sync.state import PendingRecord, SyncEvent
from tests.helpers.data import future_slot, rows
from tests.helpers.pushes import NODE, numbered_patient_record, push


def test_new_rows_of_a_batch_are_stored_as_sent(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    batch = [numbered_patient_record(post, n) for n in range(1200)]
    before = rows(Patient)
    result = push(batch, post)
    assert (result.applied, result.stale, result.pending, result.refused) == (1200, 0, 0, [])
    assert rows(Patient) == before + 1200
    seqs = []
    for record in (batch[0], batch[599], batch[-1]):
        stored = Patient.get_by_id(record["id"])
        wire = stored.to_wire()
        assert wire["fields"] == record["fields"] | {"field_stamps": "{}"}
        assert (wire["origin"], wire["changed_by"], wire["hlc"]) == (NODE, NODE, record["hlc"])
        assert stored.deleted is False
        seqs.append(stored.seq)
    assert seqs == sorted(seqs) and len(set(seqs)) == 3  # change numbers in the batch's order
    again = push(batch, post)
    assert (again.applied, again.stale) == (0, 1200)


def test_a_child_whose_parent_is_missing_waits_and_the_rest_go_in(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    parent = numbered_patient_record(post, 1)
    child = numbered_patient_record(
        post, 2, representative=parent["id"], representative_relation="mother", first_name="Маша"
    )
    others = [numbered_patient_record(post, n) for n in range(3, 40)]
    first = push([*others[:10], child, *others[10:]], post)
    assert (first.applied, first.pending, first.refused) == (37, 1, [])
    assert rows(PendingRecord) == 1
    assert all(Patient.get_or_none(Patient.id == r["id"]) is not None for r in others)
    second = push([parent], post)
    assert second.applied == 1 and rows(PendingRecord) == 0
    assert Patient.get_by_id(child["id"]).representative_id == parent["id"]


def test_a_child_ahead_of_its_parent_in_one_batch_goes_in(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    parent = numbered_patient_record(post, 1)
    child = numbered_patient_record(
        post, 2, representative=parent["id"], representative_relation="mother", first_name="Маша"
    )
    result = push([child, numbered_patient_record(post, 3), parent], post)
    assert (result.pending, result.refused, rows(PendingRecord)) == (0, [], 0)
    assert Patient.get_by_id(child["id"]).representative_id == parent["id"]


def test_a_bad_record_among_new_ones_is_refused_alone(seeded) -> None:  # type: ignore[no-untyped-def]
    post, theirs = seeded.posts[0][0], seeded.posts[1][0]
    good = [numbered_patient_record(post, n) for n in range(20)]
    bad_phone = numbered_patient_record(post, 21, phone="12")
    foreign = numbered_patient_record(theirs, 22)
    result = push([*good[:10], bad_phone, *good[10:], foreign], post)
    assert result.applied == 20
    assert sorted(r["id"] for r in result.refused) == sorted([bad_phone["id"], foreign["id"]])
    assert Patient.get_or_none(Patient.id == foreign["id"]) is None
    assert Patient.get_or_none(Patient.id == bad_phone["id"]) is None
    assert all(Patient.get_or_none(Patient.id == r["id"]) is not None for r in good)


def test_a_row_that_conflicts_with_another_is_refused_the_rest_stored(seeded) -> None:  # type: ignore[no-untyped-def]
    """Two protocols for one appeal (unique): the batch's insert fails, each row is tried alone."""
    post = seeded.posts[0][0]
    consultant = Staff.get_by_id(seeded.consultants["ivanova"])
    feldsher = Staff.get(Staff.organization == post)
    patient = Patient.select().where(Patient.organization == post).first()
    appeal = book_appeal(
        consent_by="patient",  # the ИДС to the consultation
        patient=patient,
        author=feldsher,
        specialty=consultant.specialty,
        consultant=consultant,
        slot=future_slot(consultant),
        form_of_care="planned",
        question="Боли в груди после нагрузки",
    )
    central = HybridClock("central")

    def protocol(text: str):  # type: ignore[no-untyped-def]
        return {
            "model": "protocol",
            "id": str(uuid.uuid4()),
            "origin": "central",
            "changed_by": "central",
            "hlc": central.now(),
            "deleted": False,
            "fields": {
                "appeal": appeal.id,
                "consultant": consultant.id,
                "anamnesis": "",
                "recommendations": text,
                "additional_recommendations": "",
                "sent_at": "2026-03-02T10:00:00",
            },
        }

    first, second = protocol("ЭКГ в динамике"), protocol("Повторить через неделю")
    result = apply_records([first, second], peer="central", from_central=True)
    assert result.applied == 1
    assert [r["id"] for r in result.refused] == [second["id"]]
    assert Protocol.get_by_id(first["id"]).recommendations == "ЭКГ в динамике"
    assert SyncEvent.select().where(SyncEvent.kind == "refused").count() == 1
