"""Migrations bring an old database and a fresh one to the same schema."""

from __future__ import annotations

from pathlib import Path

from domain.migrations import REPLICATED_MIGRATIONS, SCHEMA_VERSION
from sync.db import open_database
from sync.migrations import applied, migrate
from sync.state import CENTRAL_MIGRATIONS


def test_fresh_database_gets_every_migration_once(tmp_path: Path) -> None:
    db = open_database(tmp_path / "fresh.db")
    ran = migrate(db, CENTRAL_MIGRATIONS)
    assert ran == [m.id for m in REPLICATED_MIGRATIONS] + [m.id for m in CENTRAL_MIGRATIONS]
    assert migrate(db, CENTRAL_MIGRATIONS) == []
    assert SCHEMA_VERSION == len(REPLICATED_MIGRATIONS)
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    db.close()


def test_an_old_patient_table_gains_field_stamps(tmp_path: Path) -> None:
    db = open_database(tmp_path / "old.db")
    migrate(db)
    # Make the database look as it was before 0002: without the column, not recorded.
    db.execute_sql("ALTER TABLE patient DROP COLUMN field_stamps")
    db.execute_sql("DELETE FROM schema_migration WHERE id = 'sync.0002_patient_field_stamps'")
    assert "sync.0002_patient_field_stamps" not in applied(db)
    assert migrate(db) == ["sync.0002_patient_field_stamps"]
    assert "field_stamps" in {c.name for c in db.get_columns("patient")}
    db.close()
