"""What a consultation leaves at central, and a second region: rows of every replicated model,
for tests that divide rows between posts (the replication scope and what is built on it)."""

from __future__ import annotations

from datetime import date, timedelta

from domain import booking as domain_booking
from domain.models import (
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
from sync.clock import utcnow
from tests.helpers.data import future_slot

__all__ = ["SHA", "a_consultation_at", "another_region"]

SHA = "ab" * 32


def a_consultation_at(post_id: str, patient: Patient, consultant: Staff) -> None:
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


def another_region() -> None:
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
