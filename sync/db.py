"""The database every replicated model is bound to, and the local replica's identity.

Each process fills the proxy once with `open_database` (SQLite file, WAL,
synchronous=FULL) or `open_database_url` (PostgreSQL for a scaled central),
then calls `bind_replica` to say who it is.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peewee import Database, DatabaseError, DatabaseProxy, Model, SqliteDatabase
from playhouse.db_url import connect

from .clock import HybridClock

__all__ = [
    "database",
    "open_database",
    "open_database_url",
    "read_snapshot",
    "Replica",
    "bind_replica",
    "replica",
    "CENTRAL",
]

#: Replica id of the consultation centre; nodes use their enrolled node id.
CENTRAL = "central"

database = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "full",  # a post must never lose a committed record on power loss
    "foreign_keys": 1,
    "busy_timeout": 10_000,
    "cache_size": -16 * 1024,
}


def open_database(path: str | Path) -> SqliteDatabase:
    """Open (creating if needed) a SQLite file with faplink's pragmas and bind it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = SqliteDatabase(
        str(path),
        pragmas=SQLITE_PRAGMAS,
        check_same_thread=False,
        timeout=10,
        # Every transaction that may write takes the write lock when it begins. A
        # deferred one that read first fails at once with «database is locked» if
        # another connection committed meanwhile: SQLite cannot upgrade a stale
        # snapshot, and the busy timeout does not apply to that refusal.
        lock_type="IMMEDIATE",
    )
    database.initialize(db)
    db.connect(reuse_if_open=True)
    return db


def open_database_url(url: str) -> Database:
    """Open a database from a URL (sqlite:///path or postgresql://…) and bind it."""
    if url.startswith("sqlite:///"):
        return open_database(url.removeprefix("sqlite:///"))
    db = connect(url)
    database.initialize(db)
    db.connect(reuse_if_open=True)
    return db


def read_snapshot() -> Any:
    """A transaction that only reads: one consistent snapshot, without holding writers
    back (on SQLite a deferred transaction; elsewhere the default one)."""
    db = database.obj
    if isinstance(db, SqliteDatabase):
        return db.atomic(lock_type="DEFERRED")
    return database.atomic()


@dataclass
class Replica:
    """Who this process writes as: its replica id and its hybrid logical clock."""

    id: str
    clock: HybridClock


_replica: Replica | None = None
_replica_lock = threading.Lock()


def bind_replica(replica_id: str, last_stamp: str | None = None) -> Replica:
    """Declare the local replica; stamps continue after `last_stamp` if given."""
    global _replica
    with _replica_lock:
        _replica = Replica(replica_id, HybridClock(replica_id, last_stamp))
        return _replica


def replica() -> Replica:
    """The replica bound by `bind_replica` (an error if none was)."""
    if _replica is None:
        raise RuntimeError("no replica bound: call sync.db.bind_replica() at start-up")
    return _replica


def create_side_tables(models: Sequence[type[Model]]) -> None:
    """Create a feature's own (unreplicated) tables if missing. Several central instances
    may start at once: PostgreSQL may refuse a concurrent CREATE TABLE IF NOT EXISTS, and
    then the other instance has made the table, which is all that matters."""
    try:
        with database.atomic():
            database.create_tables(list(models), safe=True)
    except DatabaseError:
        if not all(model.table_exists() for model in models):
            raise
