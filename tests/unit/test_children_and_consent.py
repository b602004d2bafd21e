"""Children and consent, as the shared models enforce them at the post and at central.

Under 15 full years a legal representative (an adult, with the relation) is on the
card; every appeal carries the ИДС to the telemedicine consultation; a specialty
accepts only the ages it declares (323-ФЗ art. 20 and 54).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from domain.booking import book_appeal
from domain.errors import ValidationError
from domain.models import Appeal, ConsentGiver, Patient, Relation, Specialty, Staff
from domain.models.directory import today_at
from sync.apply import apply_records
from sync.clock import utcnow
from tests.helpers.data import future_slot, rows
from tests.helpers.pushes import NODE, clock, patient_record, push

ELDER = "Кузьмин Пётр Васильевич@1"  # born 1948
MOTHER = "Сидорова Елена Андреевна@1"
CHILD = "Сидоров Артём Игоревич@1"  # born 2019, represented by his mother


def _years_ago(post_id: str, years: int) -> date:
    today = today_at(post_id)
    return today.replace(year=today.year - years) - timedelta(days=30)


def _child(post_id: str, **fields: Any) -> Patient:
    """A five-year-old of the post (fields override)."""
    values = {
        "last_name": "Сидоров",
        "first_name": "Ваня",
        "birth_date": _years_ago(post_id, 5),
        "sex": "male",
        "phone": "+79161234567",
        "organization": post_id,
    }
    return Patient(**(values | fields))


def test_a_five_year_old_needs_a_legal_representative(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    with pytest.raises(ValidationError, match="Пациенту нет 15 лет: укажите законного представителя"):
        _child(post).save(force_insert=True)
    assert Patient.select().where(Patient.first_name == "Ваня").count() == 0

    named = _child(
        post,
        representative_relation=Relation.FATHER,
        representative_name="Сидоров Игорь Павлович",
        representative_document="свидетельство о рождении II-ОН № 123456",
        representative_phone="8 912 000-11-22",
    )
    named.save(force_insert=True)
    stored = Patient.get_by_id(named.id)
    assert (stored.representative_name, stored.representative_relation) == (
        "Сидоров Игорь Павлович",
        "father",
    )
    assert stored.representative_phone == "+79120001122"

    mother = Patient.get_by_id(seeded.patients[MOTHER])
    linked = _child(
        post, first_name="Петя", representative=mother.id, representative_relation=Relation.MOTHER
    )
    linked.save(force_insert=True)
    assert Patient.get_by_id(linked.id).representative_display == mother.full_name


def test_the_representative_is_an_adult_with_a_relation_and_a_document(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    sister = _child(
        post,
        last_name="Сидорова",
        first_name="Оля",
        birth_date=_years_ago(post, 17),
        representative_name="Сидорова Е. А.",
    )
    sister.representative_relation, sister.representative_document = Relation.MOTHER, "паспорт 2800 123456"
    sister.save(force_insert=True)

    with pytest.raises(ValidationError, match="только совершеннолетний .*: Сидорова Оля — младше 18 лет"):
        _child(post, representative=sister.id, representative_relation=Relation.GUARDIAN).save(
            force_insert=True
        )
    mother = seeded.patients[MOTHER]
    with pytest.raises(ValidationError, match="Выберите, кем представитель приходится пациенту"):
        _child(post, representative=mother).save(force_insert=True)
    with pytest.raises(ValidationError, match="документ, подтверждающий полномочия"):
        _child(post, representative_name="Сидоров Игорь Павлович", representative_relation="father").save(
            force_insert=True
        )
    with pytest.raises(ValidationError, match="своим законным представителем"):
        _child(post, representative_name="Сидоров Ваня", representative_relation="other").save(
            force_insert=True
        )
    assert Patient.select().where(Patient.first_name == "Ваня").count() == 0


def test_a_child_stored_before_the_rule_stays_loadable_and_editable(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    old = _child(post)
    Patient.insert(  # as an older version stored it: no representative, no checks
        {**old.__data__, "origin": "central", "changed_by": "central", "hlc": clock.now(), "seq": 0}
    ).execute()
    stored = Patient.get_by_id(old.id)
    assert stored.needs_representative() and not stored.has_representative
    stored.address = "ул. Школьная, 3"
    stored.save()  # editing another field is not refused
    assert Patient.get_by_id(old.id).address == "ул. Школьная, 3"
    stored.birth_date = stored.birth_date - timedelta(days=1)
    with pytest.raises(ValidationError, match="укажите законного представителя"):
        stored.save()


def test_central_refuses_a_synced_child_without_a_representative(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    before = rows(Patient)
    result = push([patient_record(post, birth_date=_years_ago(post, 5).isoformat(), snils=None)], post)
    assert result.applied == 0 and "укажите законного представителя" in result.refused[0]["message"]
    assert rows(Patient) == before


def _book(patient: Patient, doctor: Staff, **consent: Any) -> Appeal:
    return book_appeal(
        patient=patient,
        author=Staff.get(Staff.organization == patient.organization_id),
        specialty=doctor.specialty,
        consultant=doctor,
        slot=future_slot(doctor),
        form_of_care="planned",
        question="Коррекция терапии?",
        **consent,
    )


def test_an_appeal_without_the_consent_cannot_be_made(seeded) -> None:  # type: ignore[no-untyped-def]
    elder = Patient.get_by_id(seeded.patients[ELDER])
    doctor = Staff.get_by_id(seeded.consultants["ivanova"])
    with pytest.raises(ValidationError, match="Без информированного добровольного согласия"):
        _book(elder, doctor)
    with pytest.raises(ValidationError, match="не может быть в будущем"):
        _book(elder, doctor, consent_by=ConsentGiver.PATIENT, consent_at=utcnow() + timedelta(hours=2))
    assert rows(Appeal) == 0

    child = Patient.get_by_id(seeded.patients[CHILD])
    pediatrician = Staff.get_by_id(seeded.consultants["popov"])
    with pytest.raises(ValidationError, match="ИДС даёт законный представитель"):
        _book(child, pediatrician, consent_by=ConsentGiver.PATIENT)
    appeal = _book(child, pediatrician, consent_by=ConsentGiver.REPRESENTATIVE)
    stored = Appeal.get_by_id(appeal.id)
    assert (stored.consent_by, stored.consent_name) == ("representative", "Сидорова Елена Андреевна")
    assert stored.consent_at is not None


def _wire(appeal_fields: dict[str, Any], seeded: Any, doctor: Staff, patient: str) -> dict[str, Any]:
    """An appeal as the post pushes it (made by the rules, removed from central, then edited)."""
    who = Patient.get_by_id(seeded.patients[patient])
    consent = ConsentGiver.REPRESENTATIVE if who.needs_representative() else ConsentGiver.PATIENT
    appeal = _book(who, doctor, consent_by=consent)
    record = appeal.to_wire() | {
        "id": str(uuid.uuid4()),
        "origin": NODE,
        "changed_by": NODE,
        "hlc": clock.now(),
    }
    Appeal.delete().where(Appeal.id == appeal.id).execute()
    record["fields"] = record["fields"] | appeal_fields
    return record


def test_central_refuses_a_synced_appeal_without_the_consent(seeded) -> None:  # type: ignore[no-untyped-def]
    post = seeded.posts[0][0]
    doctor = Staff.get_by_id(seeded.consultants["ivanova"])
    record = _wire({"consent_by": "", "consent_name": "", "consent_at": None}, seeded, doctor, ELDER)
    result = apply_records([record], peer=NODE, from_central=False, scope_org=post)
    assert (
        result.applied == 0 and "Без информированного добровольного согласия" in result.refused[0]["message"]
    )
    assert rows(Appeal) == 0
    fixed = record | {"hlc": clock.now()}
    fixed["fields"] = fixed["fields"] | {"consent_by": "patient", "consent_at": utcnow().isoformat() + "Z"}
    assert apply_records([fixed], peer=NODE, from_central=False, scope_org=post).applied == 1
    assert Appeal.get_by_id(record["id"]).consent_by == "patient"


def test_a_78_year_old_is_not_booked_into_pediatrics(seeded) -> None:  # type: ignore[no-untyped-def]
    elder = Patient.get_by_id(seeded.patients[ELDER])
    pediatrics = Specialty.get(Specialty.name == "Педиатрия")
    assert (pediatrics.age_from, pediatrics.age_under) == (None, 18)
    pediatrician = Staff.get_by_id(seeded.consultants["popov"])
    with pytest.raises(ValidationError, match="«Педиатрия» — для пациентов младше 18 лет"):
        _book(elder, pediatrician, consent_by=ConsentGiver.PATIENT)
    child = Patient.get_by_id(seeded.patients["Сидорова Мария Игоревна@1"])
    with pytest.raises(ValidationError, match="«Кардиология» — для пациентов от 18 лет"):
        _book(child, Staff.get_by_id(seeded.consultants["ivanova"]), consent_by=ConsentGiver.REPRESENTATIVE)

    # A post that pushes such an appeal anyway is refused at central.
    post = seeded.posts[0][0]
    fields = {"patient": elder.id, "consent_by": "patient", "consent_name": ""}
    record = _wire(fields, seeded, pediatrician, CHILD)
    result = apply_records([record], peer=NODE, from_central=False, scope_org=post)
    assert result.applied == 0 and "«Педиатрия» — для пациентов младше 18 лет" in result.refused[0]["message"]
    assert rows(Appeal) == 0
