"""The appeal lifecycle as the manual describes it, on a real SQLite file."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import booking
from domain.errors import LifecycleError, ValidationError
from domain.models import (
    Appeal,
    AppealStatus,
    Diagnosis,
    FormOfCare,
    Protocol,
    Slot,
    Staff,
    configure_deadlines,
)
from sync.clock import utcnow
from tests.helpers.data import appeal_parties, book_appeal, rows


def test_a_booked_appeal_is_new_and_due_at_its_slot(seeded) -> None:  # type: ignore[no-untyped-def]
    appeal = book_appeal(seeded)
    assert appeal.status == AppealStatus.NEW
    assert appeal.due_at == appeal.slot.starts_at
    assert appeal.origin == "central" and appeal.seq > 0 and appeal.hlc


def test_a_taken_slot_is_refused_and_nothing_is_stored(seeded) -> None:  # type: ignore[no-untyped-def]
    first = book_appeal(seeded)
    before = rows(Appeal)
    with pytest.raises(ValidationError) as err:
        book_appeal(seeded, slot=first.slot)
    assert "уже занято" in err.value.message
    assert rows(Appeal) == before


def test_a_cancelled_appeal_frees_its_slot(seeded) -> None:  # type: ignore[no-untyped-def]
    first = book_appeal(seeded)
    first.cancel()
    assert book_appeal(seeded, slot=first.slot).slot_id == first.slot_id


def test_planned_care_needs_a_slot(seeded) -> None:  # type: ignore[no-untyped-def]
    consultant, feldsher, patient = appeal_parties(seeded)
    with pytest.raises(ValidationError) as err:
        booking.book_appeal(
            consent_by="patient",  # the ИДС to the consultation
            patient=patient,
            author=feldsher,
            specialty=consultant.specialty,
            consultant=consultant,
            slot=None,
            form_of_care=FormOfCare.PLANNED,
            question="?",
        )
    assert "выберите дату и время" in err.value.message


def test_an_empty_question_is_refused(seeded) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as err:
        book_appeal(seeded, question="   ")
    assert "основной вопрос" in err.value.message


def test_take_in_work_is_refused_earlier_than_15_minutes_before_the_slot(seeded) -> None:  # type: ignore[no-untyped-def]
    consultant, *_ = appeal_parties(seeded)
    later = (
        Slot.select()
        .where((Slot.consultant == consultant) & (Slot.starts_at > utcnow() + timedelta(hours=2)))
        .first()
    )
    appeal = book_appeal(seeded, slot=later)
    with pytest.raises(LifecycleError) as err:
        appeal.take_in_work(consultant, now=later.starts_at - timedelta(minutes=16))
    assert "не ранее чем за 15 минут" in err.value.message
    assert Appeal.get_by_id(appeal.id).status == AppealStatus.NEW
    appeal.take_in_work(consultant, now=later.starts_at - timedelta(minutes=15))
    assert Appeal.get_by_id(appeal.id).status == AppealStatus.IN_WORK


def test_another_specialty_cannot_take_it(seeded) -> None:  # type: ignore[no-untyped-def]
    appeal = book_appeal(seeded)
    neurologist = Staff.get_by_id(seeded.consultants["kuznetsova"])
    with pytest.raises(LifecycleError):
        appeal.take_in_work(neurologist, now=appeal.slot.starts_at)


def test_protocol_without_recommendations_is_refused_and_nothing_is_stored(seeded) -> None:  # type: ignore[no-untyped-def]
    consultant, *_ = appeal_parties(seeded)
    appeal = book_appeal(seeded)
    appeal.take_in_work(consultant, now=appeal.slot.starts_at)
    with pytest.raises(ValidationError) as err:
        Protocol.send(
            appeal,
            consultant,
            anamnesis="Гипертония 10 лет",
            recommendations="  ",
            diagnoses=[("I10", "Эссенциальная гипертензия")],
        )
    assert "Рекомендации" in err.value.message
    assert rows(Protocol) == 0 and rows(Diagnosis) == 0
    assert Appeal.get_by_id(appeal.id).status == AppealStatus.IN_WORK


def test_a_bad_icd10_code_is_refused_with_the_code_named(seeded) -> None:  # type: ignore[no-untyped-def]
    consultant, *_ = appeal_parties(seeded)
    appeal = book_appeal(seeded)
    appeal.take_in_work(consultant, now=appeal.slot.starts_at)
    with pytest.raises(ValidationError) as err:
        Protocol.send(
            appeal,
            consultant,
            anamnesis="",
            recommendations="Контроль АД",
            diagnoses=[("гипертония", "")],
        )
    assert "МКБ-10" in err.value.message
    assert rows(Protocol) == 0


def test_sending_the_protocol_closes_the_appeal(seeded) -> None:  # type: ignore[no-untyped-def]
    consultant, *_ = appeal_parties(seeded)
    appeal = book_appeal(seeded)
    appeal.take_in_work(consultant, now=appeal.slot.starts_at)
    Protocol.send(
        appeal,
        consultant,
        anamnesis="",
        recommendations="Контроль АД дважды в день",
        diagnoses=[("i10", "Эссенциальная гипертензия")],
    )
    closed = Appeal.get_by_id(appeal.id)
    assert closed.status == AppealStatus.CLOSED and closed.closed_at is not None
    assert [d.code for d in Diagnosis.select()] == ["I10"]
    with pytest.raises(LifecycleError):
        closed.cancel()


def test_overdue_by_form_of_care_deadline(seeded) -> None:  # type: ignore[no-untyped-def]
    configure_deadlines({FormOfCare.EMERGENCY: 30})
    try:
        appeal = book_appeal(seeded, form=FormOfCare.EMERGENCY)
        assert appeal.slot_id is None
        assert not appeal.is_overdue(appeal.created_at + timedelta(minutes=29))
        assert appeal.is_overdue(appeal.created_at + timedelta(minutes=30))
    finally:
        configure_deadlines({FormOfCare.EMERGENCY: 120})


def test_overdue_by_slot_time(seeded) -> None:  # type: ignore[no-untyped-def]
    appeal = book_appeal(seeded)
    assert not appeal.is_overdue(appeal.slot.starts_at - timedelta(minutes=1))
    assert appeal.is_overdue(appeal.slot.starts_at)
    appeal.take_in_work(Staff.get_by_id(seeded.consultants["ivanova"]), now=appeal.slot.starts_at)
    assert not Appeal.get_by_id(appeal.id).is_overdue(appeal.slot.starts_at + timedelta(days=1))
