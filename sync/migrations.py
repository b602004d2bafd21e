"""Schema migrations with playhouse.migrate, recorded in a `schema_migration` table.

The mechanism only: the replicated schema's steps are the domain's (registered with the
engine, see `sync.registry`), each side (node, central) appends its own side-only ones.
Every migration is idempotent: the first one (`create_replicated_tables`) creates whatever
tables are missing from the current models, later ones check before they alter. So a fresh
database and an old one both end at the same schema by running the same list.
"""

from __future__ import annotations

from collections.abc import Sequence

from peewee import CharField, Database, DateTimeField, Model, SqliteDatabase
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as migrate_ops

from .clock import utcnow
from .db import database
from .model import SyncSequence
from .registry import Migration, replication

__all__ = [
    "Migration",
    "create_replicated_tables",
    "add_column_if_missing",
    "widen_if_narrower",
    "schema_version",
    "migrate",
    "applied",
]


class SchemaMigration(Model):
    id = CharField(primary_key=True, max_length=64)
    applied_at = DateTimeField(default=utcnow)

    class Meta:
        database = database
        table_name = "schema_migration"


def create_replicated_tables(db: Database, migrator: SchemaMigrator) -> None:
    """The first replicated migration: the change sequence and every registered model's table."""
    db.create_tables([SyncSequence, *replication().models], safe=True)
    SyncSequence.insert(name="changes", value=0).on_conflict_ignore().execute()


def add_column_if_missing(db: Database, migrator: SchemaMigrator, model: type[Model], name: str) -> None:
    table = model._meta.table_name
    field = model._meta.fields[name]
    if field.column_name not in {c.name for c in db.get_columns(table)}:
        migrate_ops(migrator.add_column(table, field.column_name, field))


def widen_if_narrower(db: Database, migrator: SchemaMigrator, model: type[Model], name: str) -> None:
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


def schema_version() -> int:
    """The replicated schema's version (its migrations' count), compared at `hello`."""
    return replication().schema_version


def applied(db: Database) -> set[str]:
    db.create_tables([SchemaMigration], safe=True)
    return {m.id for m in SchemaMigration.select(SchemaMigration.id)}


def migrate(db: Database, side_migrations: Sequence[Migration] = ()) -> list[str]:
    """Apply the replicated and side-only migrations not yet applied; returns their ids."""
    done = applied(db)
    migrator = SchemaMigrator.from_database(db)
    ran: list[str] = []
    for migration in [*replication().migrations, *side_migrations]:
        if migration.id in done:
            continue
        with db.atomic():
            migration.apply(db, migrator)
            SchemaMigration.create(id=migration.id)
        ran.append(migration.id)
    return ran
