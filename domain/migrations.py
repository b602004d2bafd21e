"""The replicated schema's migrations, oldest first: their count is the schema version.

Their ids keep the `sync.` prefix they were first recorded under in every database.
The engine runs them (`sync.migrations.migrate`) once `domain` has registered them.
"""

from __future__ import annotations

import re

from peewee import Database
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as migrate_ops

from sync.migrations import Migration, add_column_if_missing, create_replicated_tables, widen_if_narrower

from . import icd10
from .models import (
    AccessChainHead,
    AccessEntry,
    Appeal,
    Attachment,
    CallLog,
    ChatMessage,
    Diagnosis,
    DiagnosisRole,
    Exam,
    Observation,
    Organization,
    Patient,
    Referral,
    ScheduleTemplate,
    Slot,
    Specialty,
    Staff,
    SupportRequest,
)

__all__ = ["REPLICATED_MIGRATIONS", "SCHEMA_VERSION"]

#: A title with Latin letters and no Cyrillic one: the WHO's English title of the old table.
_LATIN_ONLY = re.compile(r"^[^а-яёА-ЯЁ]*[A-Za-z][^а-яёА-ЯЁ]*$")


def _patient_field_stamps(db: Database, migrator: SchemaMigrator) -> None:
    add_column_if_missing(db, migrator, Patient, "field_stamps")


def _consultation_records(db: Database, migrator: SchemaMigrator) -> None:
    """Exams, chat, calls, referrals, support, schedule templates; CA certificates;
    attachments of exams (so an attachment's appeal may now be empty)."""
    db.create_tables(
        [ScheduleTemplate, Exam, Observation, ChatMessage, CallLog, Referral, SupportRequest],
        safe=True,
    )
    add_column_if_missing(db, migrator, Organization, "ca_certificate")
    add_column_if_missing(db, migrator, Staff, "visibility")
    add_column_if_missing(db, migrator, Slot, "template")
    add_column_if_missing(db, migrator, Attachment, "exam")
    appeal = {c.name: c for c in db.get_columns("attachment")}["appeal_id"]
    if not appeal.null:
        migrate_ops(migrator.drop_not_null("attachment", "appeal_id"))


def _organization_parent(db: Database, migrator: SchemaMigrator) -> None:
    """«Головная организация»: the medical organisation a post is a unit of (consultants'
    visibility «только прикреплённые к медицинской организации» needs it)."""

    add_column_if_missing(db, migrator, Organization, "parent")


def _diagnoses_in_russian(db: Database) -> None:
    """Diagnoses of protocols sent before the national МКБ-10 and roles: the Russian title
    where the WHO's English one stood, the first diagnosis of each protocol main, the others
    concomitant.

    A title without a Cyrillic letter can only have come from the WHO table: doctors write
    theirs in Russian. Node and central both run this on their own copies, so the rows stay
    equal without being sent again.
    """
    rows = list(
        Diagnosis.live()
        .select(Diagnosis.id, Diagnosis.protocol, Diagnosis.code, Diagnosis.title)
        .order_by(Diagnosis.protocol, Diagnosis.hlc, Diagnosis.id)
        .tuples()
    )
    seen: set[str] = set()
    for row_id, protocol, code, title in rows:
        changes = {Diagnosis.role: DiagnosisRole.CONCOMITANT if protocol in seen else DiagnosisRole.MAIN}
        seen.add(protocol)
        found = icd10.lookup(code) if _LATIN_ONLY.match(title or "") else None
        if found is not None:
            changes[Diagnosis.title] = found.title
        Diagnosis.update(changes).where(Diagnosis.id == row_id).execute()


def _clinical_correctness(db: Database, migrator: SchemaMigrator) -> None:
    """Legal representatives' details, specialties' age ranges, the ИДС and the proposed
    form of care on appeals, ACVPU and oxygen on exams, diagnoses' roles; old diagnoses'
    Russian titles and roles."""
    for name in ("representative_relation", "representative_name", "representative_document"):
        add_column_if_missing(db, migrator, Patient, name)
    add_column_if_missing(db, migrator, Patient, "representative_phone")
    add_column_if_missing(db, migrator, Specialty, "age_from")
    add_column_if_missing(db, migrator, Specialty, "age_under")
    for name in ("consent_by", "consent_name", "consent_at", "proposed_form", "form_reason"):
        add_column_if_missing(db, migrator, Appeal, name)
    add_column_if_missing(db, migrator, Exam, "consciousness")
    add_column_if_missing(db, migrator, Exam, "on_oxygen")
    add_column_if_missing(db, migrator, Diagnosis, "role")
    _diagnoses_in_russian(db)


def _phone_extensions(db: Database, migrator: SchemaMigrator) -> None:
    """Phones keep their extension («доб. 123» stored as ";ext=123"): every column
    holding a normalised phone takes `domain.validators.PHONE_MAX_LENGTH`."""

    for model, name in (
        (Patient, "phone"),
        (Patient, "representative_phone"),
        (Organization, "phone"),
        (SupportRequest, "phone"),
    ):
        widen_if_narrower(db, migrator, model, name)


def _access_audit(db: Database, migrator: SchemaMigrator) -> None:
    """«Журнал доступа»: the replicated access rows and each writer's chain head."""

    db.create_tables([AccessEntry, AccessChainHead], safe=True)


REPLICATED_MIGRATIONS: list[Migration] = [
    Migration("sync.0001_initial", create_replicated_tables),
    Migration("sync.0002_patient_field_stamps", _patient_field_stamps),
    Migration("sync.0003_consultation_records", _consultation_records),
    Migration("sync.0004_organization_parent", _organization_parent),
    Migration("sync.0005_clinical_correctness", _clinical_correctness),
    Migration("sync.0006_phone_extensions", _phone_extensions),
    Migration("sync.0007_access_audit", _access_audit),
]

#: The replicated schema's version, compared by node and central at `hello`.
SCHEMA_VERSION = len(REPLICATED_MIGRATIONS)
