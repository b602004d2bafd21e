"""On PostgreSQL a phone with its extension fits its column, also in a database made before 0006."""

from __future__ import annotations

from domain.validators import PHONE_MAX_LENGTH
from sync.db import database, open_database_url
from sync.migrations import applied, migrate

PHONES = (("patient", "phone"), ("patient", "representative_phone"), ("organization", "phone"))


def _widths(db) -> dict[tuple[str, str], int]:  # type: ignore[no-untyped-def]
    cursor = db.execute_sql(
        "SELECT table_name, column_name, character_maximum_length FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND column_name IN ('phone', 'representative_phone')"
    )
    return {(t, c): n for t, c, n in cursor.fetchall()}


def test_an_old_database_gets_phone_columns_wide_enough_for_an_extension(pg_url: str) -> None:
    db = open_database_url(pg_url)
    try:
        migrate(db)
        assert all(_widths(db)[key] == PHONE_MAX_LENGTH for key in PHONES)
        # As it was before 0006: the narrow columns, the migration not recorded.
        for (table, column), width in zip(PHONES, (16, 24, 20), strict=True):
            db.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE VARCHAR({width})')
        db.execute_sql("ALTER TABLE support_request ALTER COLUMN phone TYPE VARCHAR(16)")
        db.execute_sql("DELETE FROM schema_migration WHERE id = 'sync.0006_phone_extensions'")
        assert migrate(db) == ["sync.0006_phone_extensions"]
        widths = _widths(db)
        assert all(widths[key] == PHONE_MAX_LENGTH for key in [*PHONES, ("support_request", "phone")])
        # Run again (as if the record were lost): nothing to alter, nothing breaks.
        db.execute_sql("DELETE FROM schema_migration WHERE id = 'sync.0006_phone_extensions'")
        assert migrate(db) == ["sync.0006_phone_extensions"] and "sync.0006_phone_extensions" in applied(db)
    finally:
        database.close()
