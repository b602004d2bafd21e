"""Schema migrations with playhouse.migrate, recorded in a `schema_migration` table.

Every migration is idempotent: the first one creates whatever tables are
missing from the current models, later ones check before they alter. So a
fresh database and an old one both end at the same schema by running the same
list. Each side (node, central) appends its own side-only migrations.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from peewee import CharField, Database, DateTimeField, Model, SqliteDatabase
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as migrate_ops

from domain.models import REPLICATED_MODELS

from .clock import utcnow
from .db import database
from .model import SyncSequence

__all__ = ["Migration", "SCHEMA_VERSION", "REPLICATED_MIGRATIONS", "migrate", "applied"]

#: A title with Latin letters and no Cyrillic one: the WHO's English title of the old table.
_LATIN_ONLY = re.compile(r"^[^а-яёА-ЯЁ]*[A-Za-z][^а-яёА-ЯЁ]*$")


@dataclass(frozen=True)
class Migration:
    id: str
    apply: Callable[[Database, SchemaMigrator], None]


class SchemaMigration(Model):
    id = CharField(primary_key=True, max_length=64)
    applied_at = DateTimeField(default=utcnow)

    class Meta:
        database = database
        table_name = "schema_migration"


def _initial(db: Database, migrator: SchemaMigrator) -> None:
    db.create_tables([SyncSequence, *REPLICATED_MODELS], safe=True)
    SyncSequence.insert(name="changes", value=0).on_conflict_ignore().execute()


def _add_column_if_missing(db: Database, migrator: SchemaMigrator, model: type[Model], name: str) -> None:
    table = model._meta.table_name
    field = model._meta.fields[name]
    if field.column_name not in {c.name for c in db.get_columns(table)}:
        migrate_ops(migrator.add_column(table, field.column_name, field))


def _patient_field_stamps(db: Database, migrator: SchemaMigrator) -> None:
    from domain.models import Patient

    _add_column_if_missing(db, migrator, Patient, "field_stamps")


def _consultation_records(db: Database, migrator: SchemaMigrator) -> None:
    """Exams, chat, calls, referrals, support, schedule templates; CA certificates;
    attachments of exams (so an attachment's appeal may now be empty)."""
    from domain.models import (
        Attachment,
        CallLog,
        ChatMessage,
        Exam,
        Observation,
        Organization,
        Referral,
        ScheduleTemplate,
        Slot,
        Staff,
        SupportRequest,
    )

    db.create_tables(
        [ScheduleTemplate, Exam, Observation, ChatMessage, CallLog, Referral, SupportRequest],
        safe=True,
    )
    _add_column_if_missing(db, migrator, Organization, "ca_certificate")
    _add_column_if_missing(db, migrator, Staff, "visibility")
    _add_column_if_missing(db, migrator, Slot, "template")
    _add_column_if_missing(db, migrator, Attachment, "exam")
    appeal = {c.name: c for c in db.get_columns("attachment")}["appeal_id"]
    if not appeal.null:
        migrate_ops(migrator.drop_not_null("attachment", "appeal_id"))


def _organization_parent(db: Database, migrator: SchemaMigrator) -> None:
    """«Головная организация»: the medical organisation a post is a unit of (consultants'
    visibility «только прикреплённые к медицинской организации» needs it)."""
    from domain.models import Organization

    _add_column_if_missing(db, migrator, Organization, "parent")


def _diagnoses_in_russian(db: Database) -> None:
    """Diagnoses of protocols sent before the national МКБ-10 and roles: the Russian title
    where the WHO's English one stood, the first diagnosis of each protocol main, the others
    concomitant.

    A title without a Cyrillic letter can only have come from the WHO table: doctors write
    theirs in Russian. Node and central both run this on their own copies, so the rows stay
    equal without being sent again.
    """
    from domain import icd10
    from domain.models import Diagnosis, DiagnosisRole

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
    from domain.models import Appeal, Diagnosis, Exam, Patient, Specialty

    for name in ("representative_relation", "representative_name", "representative_document"):
        _add_column_if_missing(db, migrator, Patient, name)
    _add_column_if_missing(db, migrator, Patient, "representative_phone")
    _add_column_if_missing(db, migrator, Specialty, "age_from")
    _add_column_if_missing(db, migrator, Specialty, "age_under")
    for name in ("consent_by", "consent_name", "consent_at", "proposed_form", "form_reason"):
        _add_column_if_missing(db, migrator, Appeal, name)
    _add_column_if_missing(db, migrator, Exam, "consciousness")
    _add_column_if_missing(db, migrator, Exam, "on_oxygen")
    _add_column_if_missing(db, migrator, Diagnosis, "role")
    _diagnoses_in_russian(db)


def _widen_if_narrower(db: Database, migrator: SchemaMigrator, model: type[Model], name: str) -> None:
    """Give a VARCHAR column its model's length, if it is narrower (PostgreSQL).

    SQLite does not enforce VARCHAR lengths, and altering a type there rebuilds the
    whole table: on SQLite there is nothing to do.
    """
    if isinstance(db, SqliteDatabase):
        return
    table = model._meta.table_name
    field = model._meta.fields[name]
    width = db.execute_sql(
        "SELECT character_maximum_length FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = %s AND column_name = %s",
        (table, field.column_name),
    ).fetchone()
    if width is not None and width[0] is not None and width[0] < field.max_length:
        migrate_ops(migrator.alter_column_type(table, field.column_name, field))


def _phone_extensions(db: Database, migrator: SchemaMigrator) -> None:
    """Phones keep their extension («доб. 123» stored as ";ext=123"): every column
    holding a normalised phone takes `sync.validators.PHONE_MAX_LENGTH`."""
    from domain.models import Organization, Patient, SupportRequest

    for model, name in (
        (Patient, "phone"),
        (Patient, "representative_phone"),
        (Organization, "phone"),
        (SupportRequest, "phone"),
    ):
        _widen_if_narrower(db, migrator, model, name)


def _access_audit(db: Database, migrator: SchemaMigrator) -> None:
    """«Журнал доступа»: the replicated access rows and each writer's chain head."""
    from domain.models import AccessChainHead, AccessEntry

    db.create_tables([AccessEntry, AccessChainHead], safe=True)


REPLICATED_MIGRATIONS: list[Migration] = [
    Migration("sync.0001_initial", _initial),
    Migration("sync.0002_patient_field_stamps", _patient_field_stamps),
    Migration("sync.0003_consultation_records", _consultation_records),
    Migration("sync.0004_organization_parent", _organization_parent),
    Migration("sync.0005_clinical_correctness", _clinical_correctness),
    Migration("sync.0006_phone_extensions", _phone_extensions),
    Migration("sync.0007_access_audit", _access_audit),
]

#: The replicated schema's version, compared by node and central at `hello`.
SCHEMA_VERSION = len(REPLICATED_MIGRATIONS)


def applied(db: Database) -> set[str]:
    db.create_tables([SchemaMigration], safe=True)
    return {m.id for m in SchemaMigration.select(SchemaMigration.id)}


def migrate(db: Database, side_migrations: Sequence[Migration] = ()) -> list[str]:
    """Apply the replicated and side-only migrations not yet applied; returns their ids."""
    done = applied(db)
    migrator = SchemaMigrator.from_database(db)
    ran: list[str] = []
    for migration in [*REPLICATED_MIGRATIONS, *side_migrations]:
        if migration.id in done:
            continue
        with db.atomic():
            migration.apply(db, migrator)
            SchemaMigration.create(id=migration.id)
        ran.append(migration.id)
    return ran
