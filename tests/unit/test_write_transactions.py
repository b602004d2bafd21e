"""Write transactions on SQLite take the write lock when they begin.

A deferred transaction that reads and then writes fails at once with «database
is locked» if another connection committed in between (SQLite cannot upgrade a
stale read snapshot, and does not wait). That is what a consultant met as a 500
on «Взять в работу» while a post was syncing.
"""

from __future__ import annotations

import threading

from domain.models import Appeal, AppealStatus, Patient, Staff
from sync.db import database, read_snapshot
from tests.helpers.data import book_appeal


def test_a_read_then_write_transaction_survives_a_concurrent_commit(seeded) -> None:  # type: ignore[no-untyped-def]
    appeal = book_appeal(seeded)
    consultant = Staff.get_by_id(seeded.consultants["ivanova"])
    patient_id = appeal.patient_id
    errors: list[BaseException] = []

    def other_writer(busy_timeout_ms: int) -> None:
        # Another connection (a sync apply, say) writes while the first one is between its
        # read and its write.
        try:
            database.execute_sql(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            with database.atomic():
                Patient.update(address="с. Берёзовка, ул. Новая, 1").where(
                    Patient.id == patient_id
                ).execute()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            database.close()

    with database.atomic():
        fresh = Appeal.get_by_id(appeal.id)
        # The lock is ours from the start: a writer that will not wait is refused at once
        # (after a deferred BEGIN it would commit here, and our write below would fail).
        impatient = threading.Thread(target=other_writer, args=(0,))
        impatient.start()
        impatient.join(15)
        assert [str(e) for e in errors] == ["database is locked"]
        errors.clear()
        # A writer that waits, as every connection does, commits once we have.
        patient = threading.Thread(target=other_writer, args=(10_000,))
        patient.start()
        fresh.take_in_work(consultant, fresh.due_at)
    patient.join(15)

    assert errors == []
    assert Appeal.get_by_id(appeal.id).status == AppealStatus.IN_WORK
    assert Patient.get_by_id(patient_id).address == "с. Берёзовка, ул. Новая, 1"


def test_a_read_snapshot_does_not_hold_back_writers(seeded) -> None:  # type: ignore[no-untyped-def]
    appeal = book_appeal(seeded)
    wrote = threading.Event()

    def writer() -> None:
        with database.atomic():
            Patient.update(address="д. Ключи").where(Patient.id == appeal.patient_id).execute()
        wrote.set()
        database.close()

    with read_snapshot():
        before = Patient.get_by_id(appeal.patient_id).address
        thread = threading.Thread(target=writer)
        thread.start()
        assert wrote.wait(30), "a writer waited for a reader"
        # Still the snapshot taken at the first read.
        assert Patient.get_by_id(appeal.patient_id).address == before
    thread.join(30)
    assert Patient.get_by_id(appeal.patient_id).address == "д. Ключи"
