"""Central applying what a post pushes: exactly once, in scope, status only forward."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date

from domain.booking import book_appeal
from domain.models import Appeal, AppealStatus, Patient, Staff
from sync.clock import Stamp
from sync.state import PendingRecord, SyncEvent
from tests.helpers.data import future_slot, rows
from tests.helpers.pushes import NODE, clock, patient_record, push


def test_a_resent_batch_changes_nothing(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    batch = [patient_record(post), patient_record(post, snils=None, phone="+79161234568")]
    first = push(batch, post)
    seq_after_first = max(p.seq for p in Patient.select())
    again = push(list(reversed(batch)), post)
    assert (first.applied, again.applied, again.stale) == (2, 0, 2)
    assert max(p.seq for p in Patient.select()) == seq_after_first


def test_a_record_for_another_post_is_refused_not_dropped(seeded) -> None:  # type: ignore[no-untyped-def]
    mine, theirs = seeded.posts[0][0], seeded.posts[1][0]
    before = rows(Patient)
    result = push([patient_record(theirs), patient_record(mine)], mine)
    assert result.applied == 1
    assert [r["error"] for r in result.refused] == ["out_of_scope"]
    assert rows(Patient) == before + 1
    assert SyncEvent.select().where(SyncEvent.kind == "refused").count() == 1


def test_a_post_cannot_write_central_directories(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    staff = Staff.get_by_id(seeded.consultants["ivanova"])
    forged = staff.to_wire() | {"changed_by": NODE, "hlc": clock.now()}
    forged["fields"] = forged["fields"] | {"last_name": "Взломщик"}
    result = push([forged], post)
    assert result.refused and result.refused[0]["error"] == "out_of_scope"
    assert Staff.get_by_id(staff.id).last_name == "Иванова"


def test_invalid_identity_numbers_from_a_peer_are_refused(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    result = push([patient_record(post, snils="11223344596")], post)
    assert result.applied == 0 and result.refused[0]["error"] == "invalid"
    assert "СНИЛС" in result.refused[0]["message"]


def test_unknown_fields_and_models_are_refused(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    odd = patient_record(post)
    odd["fields"]["is_admin"] = True
    result = push([odd, {"model": "user", "id": str(uuid.uuid4())}, "garbage"], post)
    assert result.applied == 0 and len(result.refused) == 3


def test_a_child_before_its_parent_waits_then_goes_in(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    parent = patient_record(post)
    child = patient_record(
        post, snils=None, representative=parent["id"], representative_relation="mother", first_name="Ваня"
    )
    first = push([child], post)
    assert first.pending == 1 and rows(PendingRecord) == 1
    second = push([parent], post)
    assert second.applied == 1 and rows(PendingRecord) == 0
    assert Patient.get_by_id(child["id"]).representative_id == parent["id"]


def test_central_keeps_its_decision_when_a_post_edits_an_appeal(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    consultant = Staff.get_by_id(seeded.consultants["ivanova"])
    feldsher = Staff.get(Staff.organization == post)
    patient = Patient.get_by_id(seeded.patients["Кузьмин Пётр Васильевич@1"])
    slot = future_slot(consultant)
    appeal = book_appeal(
        consent_by="patient",  # the ИДС to the consultation
        patient=patient,
        author=feldsher,
        specialty=consultant.specialty,
        consultant=consultant,
        slot=slot,
        form_of_care="planned",
        question="?",
    )
    stale_view = appeal.to_wire()  # what the post had before central took it
    appeal.take_in_work(consultant, now=slot.starts_at)
    # The post, still offline, asks to cancel and edits the question.
    edit = stale_view | {"changed_by": NODE, "hlc": clock.now()}
    edit["fields"] = edit["fields"] | {"status": AppealStatus.CANCELLED, "question": "Уточнение"}
    result = push([edit], post)
    assert result.applied == 1
    stored = Appeal.get_by_id(appeal.id)
    assert stored.status == AppealStatus.IN_WORK  # central's decision wins the race
    assert stored.question == "Уточнение"  # the post owns the request text
    assert stored.changed_by == "central"  # re-stamped, so the post learns the outcome
    assert SyncEvent.select().where(SyncEvent.kind == "merged").count() == 1


def test_a_post_may_cancel_while_the_appeal_is_new(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    consultant = Staff.get_by_id(seeded.consultants["ivanova"])
    patient = Patient.get_by_id(seeded.patients["Кузьмин Пётр Васильевич@1"])
    slot = future_slot(consultant)
    appeal = book_appeal(
        consent_by="patient",  # the ИДС to the consultation
        patient=patient,
        author=Staff.get(Staff.organization == post),
        specialty=consultant.specialty,
        consultant=consultant,
        slot=slot,
        form_of_care="planned",
        question="?",
    )
    cancel = appeal.to_wire() | {"changed_by": NODE, "hlc": clock.now()}
    cancel["fields"] = cancel["fields"] | {"status": AppealStatus.CANCELLED}
    assert push([cancel], post).applied == 1
    assert Appeal.get_by_id(appeal.id).status == AppealStatus.CANCELLED


def test_birth_date_round_trips_through_the_wire(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    record = patient_record(post)
    push([record], post)
    assert Patient.get_by_id(record["id"]).birth_date == date(1961, 5, 7)


def test_demographics_merge_field_by_field(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    record = patient_record(post)
    push([record], post)
    # Central corrects the phone; meanwhile the post, offline, fixes the address.
    at_central = Patient.get_by_id(record["id"])
    at_central.phone = "+79169998877"
    at_central.save()
    import json as _json

    edit = dict(record, hlc=clock.now())
    stamps = _json.loads(at_central.field_stamps)
    edit["fields"] = record["fields"] | {
        "address": "д. Медное, ул. Лесная, 3",
        "field_stamps": _json.dumps(
            {k: record["hlc"] for k in stamps} | {"address": edit["hlc"]}
        ),
    }
    result = push([edit], post)
    assert result.applied == 1
    merged = Patient.get_by_id(record["id"])
    assert (merged.phone, merged.address) == ("+79169998877", "д. Медное, ул. Лесная, 3")
    assert merged.changed_by == "central"  # both sides' fields: it must travel back


def test_the_later_edit_of_one_field_wins_and_the_loser_is_audited(seeded) -> None:  # type: ignore[no-untyped-def]
    import json as _json

    post = seeded.posts[0][0]
    # Two clocks that never met are ordered by wall time: the post wrote and edited the card
    # a minute before central edited it.
    a_minute_ago = int(time.time() * 1000) - 60_000
    record = dict(patient_record(post), hlc=Stamp(a_minute_ago, 0, NODE).encode())
    push([record], post)
    early = Stamp(a_minute_ago, 1, NODE).encode()
    at_central = Patient.get_by_id(record["id"])
    at_central.last_name = "Морозова-Центр"
    at_central.save()  # stamped after `early`
    edit = dict(record, hlc=early)
    edit["fields"] = record["fields"] | {
        "last_name": "Морозова-Пост",
        "field_stamps": _json.dumps({"last_name": early}),
    }
    push([edit], post)
    assert Patient.get_by_id(record["id"]).last_name == "Морозова-Центр"
    audit = SyncEvent.select().where(SyncEvent.record_id == record["id"]).get()
    assert "Морозова-Пост" in audit.detail


def test_a_new_rows_stamps_are_restored_as_the_engine_always_wrote_them() -> None:
    """A new row comes without its field stamps (all are the row's own): restored, they read as
    json.dumps wrote them, also for a replica id that JSON must escape."""
    for replica in ("post-1", 'кио"ск\\1'):
        hlc = f"1765000000000.000001.{replica}"
        fields = {"field_stamps": "{}"}
        Patient.expand_stamps(fields, hlc)
        expected = {name: hlc for name in Patient.merged_field_names()}
        assert fields["field_stamps"] == json.dumps(expected, sort_keys=True)
        partial = {"field_stamps": json.dumps({"address": "1765000000001.000000.central"})}
        Patient.expand_stamps(partial, hlc)
        assert json.loads(partial["field_stamps"]) == expected | {"address": "1765000000001.000000.central"}
