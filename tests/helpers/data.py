"""The seeded demo data: row counts, slots still ahead, a post's first pull, appeals booked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from domain import booking as domain_booking
from domain.models import Appeal, FormOfCare, Patient, Role, Slot, Staff
from sync.clock import utcnow
from sync.db import open_database

#: The data key of the posts the fixtures build (hex; node/datakey.py's configured source).
TEST_DATA_KEY = "5a" * 32


def rows(model) -> int:  # type: ignore[no-untyped-def]
    return int(model.select().count())


def post_records(template: Path, post_id: str) -> list[dict]:  # type: ignore[type-arg]
    """Everything central would send to a post on its first pull."""
    from sync.changes import collect_changes

    handle = open_database(template)
    rows_, _ = collect_changes(0, 1_000_000, scope_org=post_id)
    records = [row.to_wire() for row in rows_]
    handle.close()
    return records


def future_slot(consultant):  # type: ignore[no-untyped-def]
    """The consultant's first slot that is still ahead (the seed is made once per session)."""
    return (
        Slot.select()
        .where((Slot.consultant == consultant) & (Slot.starts_at > utcnow() + timedelta(minutes=1)))
        .order_by(Slot.starts_at)
        .first()
    )


def appeal_parties(seeded):  # type: ignore[no-untyped-def]
    """(consultant Иванова, post 1's feldsher, patient Кузьмин) of the seeded data."""
    consultant = Staff.get_by_id(seeded.consultants["ivanova"])
    feldsher = Staff.get((Staff.role == Role.FELDSHER) & (Staff.organization == seeded.posts[0][0]))
    patient = Patient.get_by_id(seeded.patients["Кузьмин Пётр Васильевич@1"])
    return consultant, feldsher, patient


def book_appeal(seeded, slot: Slot | None = None, form: str = FormOfCare.PLANNED, **kw):  # type: ignore[no-untyped-def]
    """An appeal booked at central for `appeal_parties` (a planned one in the next free slot)."""
    consultant, feldsher, patient = appeal_parties(seeded)
    if slot is None and form == FormOfCare.PLANNED:
        slot = future_slot(consultant)
    return domain_booking.book_appeal(
        consent_by="patient",  # the ИДС to the consultation
        patient=patient,
        author=feldsher,
        specialty=consultant.specialty,
        consultant=consultant,
        slot=slot,
        form_of_care=form,
        question=kw.pop("question", "Нужна ли госпитализация?"),
        **kw,
    )


def appeal_from_post(data, minutes_ahead: int = 5, consultant: str = "ivanova") -> Appeal:  # type: ignore[no-untyped-def]
    """An appeal as it arrives from post 1, for a slot `minutes_ahead` from now."""
    doctor = Staff.get_by_id(data.consultants[consultant])
    starts = utcnow() + timedelta(minutes=minutes_ahead)
    slot = Slot.create(consultant=doctor, starts_at=starts, ends_at=starts + timedelta(minutes=30))
    return domain_booking.book_appeal(
        consent_by="patient",  # the ИДС to the consultation
        patient=Patient.get_by_id(data.patients["Кузьмин Пётр Васильевич@1"]),
        author=Staff.get(Staff.organization == data.posts[0][0]),
        specialty=doctor.specialty,
        consultant=doctor,
        slot=slot,
        form_of_care="planned",
        question="Повышение АД до 180/100, коррекция терапии?",
        complaints="Головная боль",
    )
