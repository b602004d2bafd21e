"""The database every replicated model is bound to, and the local replica's identity.

Each process fills the proxy once with `open_database` (SQLite file, WAL,
synchronous=FULL) or `open_database_url` (PostgreSQL for a scaled central, through a
pool of connections its threads share), then calls `bind_replica` to say who it is.

A post's database is encrypted with SQLCipher 4 (`open_database(path, key=…)`, a raw
256-bit key, so no key derivation runs per connection); central's stays plain SQLite
or PostgreSQL on the server's encrypted disk. Either way the file and its WAL are the
owner's alone (0600, directory 0700).
"""

from __future__ import annotations

import functools
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peewee import Database, DatabaseError, DatabaseProxy, Model, SqliteDatabase
from playhouse.db_url import connect
from playhouse.pool import PooledDatabase
from sqlcipher3 import dbapi2 as sqlcipher

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
    "WrongDatabaseKey",
    "connect_file",
    "is_plain_sqlite",
    "private_file",
    "private_dir",
    "FILE_ERRORS",
    "CommitListeners",
    "POOL_SIZE",
    "POOL_WAIT_S",
    "POOL_RECYCLE_S",
    "release_connection",
]

#: Replica id of the consultation centre; nodes use their enrolled node id.
CENTRAL = "central"

database = DatabaseProxy()

#: PostgreSQL connections a process keeps open and shares between its threads (a request
#: takes one and gives it back when it ends: `web.storage`'s teardown closes into the pool).
POOL_SIZE = 20
#: How long a request that finds every pooled connection in use waits for one before failing.
POOL_WAIT_S = 30
#: A pooled connection older than this is closed when it comes back, and a fresh one opened:
#: the server's memory per connection grows, and a proxy in between may drop old ones.
POOL_RECYCLE_S = 600

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "full",  # a post must never lose a committed record on power loss
    "foreign_keys": 1,
    "busy_timeout": 10_000,
    "cache_size": -16 * 1024,
}


#: The first bytes of every plain SQLite file (an encrypted one starts with random salt).
SQLITE_HEADER = b"SQLite format 3\x00"


#: What a side connection of `connect_file` raises, plain or encrypted.
FILE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, sqlcipher.Error)


class WrongDatabaseKey(DatabaseError):
    """The key does not open this database (or the file is not a database at all)."""


# SQLCipher writes its own lines to stderr when a page does not decrypt ("hmac check
# failed"): they repeat what the raised error says, and the engineer reads that one line.
_quiet = sqlcipher.connect(":memory:")
_quiet.execute("PRAGMA cipher_log_level = NONE")
_quiet.close()


class CommitListeners:
    """Mixed into a database class: `commit_listeners` run after each transaction that changed
    something commits (the node keeps the mark of its last committed change with one). A
    listener must not raise: the transaction is committed whatever it does."""

    commit_listeners: list[Callable[[], None]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commit_listeners = []

    def commit(self) -> None:
        super().commit()  # type: ignore[misc]
        if not self.commit_listeners:
            return
        state = self._state  # type: ignore[attr-defined]  # peewee's per-thread connection state
        changes = state.conn.total_changes if state.conn is not None else None
        if changes is not None and getattr(state, "changes_seen", None) == changes:
            return  # a transaction that only read
        state.changes_seen = changes
        for listener in list(self.commit_listeners):
            listener()


class _Sqlite(CommitListeners, SqliteDatabase):
    pass


def private_file(path: Path) -> None:
    """Make `path` (creating it empty if missing) readable by its owner only, and its
    directory 0700. SQLite gives the -wal and -shm files the main file's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    private_dir(path.parent)
    if not path.exists():
        # Never open (and close) a database file another connection of this process may hold:
        # closing any descriptor of a file drops all of the process's POSIX locks on it.
        try:
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass  # another process made it a moment ago
    for extra in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if extra.exists():
            os.chmod(extra, 0o600)


def private_dir(path: Path) -> None:
    """Make a data directory 0700, unless it is a shared one such as /tmp (sticky bit) or
    someone else's."""
    info = path.stat()
    if info.st_uid == os.geteuid() and not info.st_mode & stat.S_ISVTX:
        os.chmod(path, 0o700)


def is_plain_sqlite(path: Path) -> bool:
    """Whether `path` is an unencrypted SQLite file (an empty or missing file is neither)."""
    try:
        with path.open("rb") as src:
            return src.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except FileNotFoundError:
        return False


def _key_pragma(key: bytes) -> str:
    # SQLCipher takes x'…' of 64 hex digits as the raw key: no PBKDF2 per connection,
    # which an i3 kiosk opening a connection per thread would feel.
    if len(key) != 32:
        raise ValueError("a SQLCipher key is 32 bytes")
    return f"x'{key.hex()}'"


def open_database(path: str | Path, key: bytes | None = None) -> SqliteDatabase:
    """Open (creating if needed) a SQLite file with faplink's pragmas and bind it.

    With `key` (32 bytes) the file is a SQLCipher 4 database; a wrong key raises
    `WrongDatabaseKey` before anything is bound."""
    path = Path(path)
    private_file(path)
    options: dict[str, Any] = {
        "pragmas": SQLITE_PRAGMAS,
        "check_same_thread": False,
        "timeout": 10,
        # Every transaction that may write takes the write lock when it begins. A
        # deferred one that read first fails at once with «database is locked» if
        # another connection committed meanwhile: SQLite cannot upgrade a stale
        # snapshot, and the busy timeout does not apply to that refusal.
        "lock_type": "IMMEDIATE",
    }
    db: SqliteDatabase
    if key is None:
        db = _Sqlite(str(path), **options)
    else:
        db = _sqlcipher_class()(str(path), passphrase=_key_pragma(key), **options)
    try:
        db.connect(reuse_if_open=True)
        db.execute_sql("SELECT count(*) FROM sqlite_master")
    except DatabaseError as exc:
        db.close()
        if key is None:
            raise
        raise WrongDatabaseKey(f"{path}: the key does not open this database ({exc})") from exc
    database.initialize(db)
    private_file(path)  # the WAL and its index exist now
    return db


@functools.cache
def _sqlcipher_class() -> type[SqliteDatabase]:
    from playhouse.sqlcipher_ext import SqlCipherDatabase

    class _SqlCipher(CommitListeners, SqlCipherDatabase):  # type: ignore[misc]
        pass

    return _SqlCipher


def connect_file(path: str | Path, key: bytes | None = None, *, read_only: bool = False) -> Any:
    """A plain DB-API connection to a (possibly encrypted) SQLite file, not bound to the models:
    for the field engineer's tools that count rows or take a snapshot on a side connection."""
    uri = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    if key is None:
        return sqlite3.connect(uri, uri=True, timeout=30)
    conn = sqlcipher.connect(uri, uri=True, timeout=30)
    try:
        conn.execute(f'PRAGMA key = "{_key_pragma(key)}"')
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher.DatabaseError as exc:
        conn.close()
        raise WrongDatabaseKey(f"{path}: the key does not open this database ({exc})") from exc
    return conn


def open_database_url(url: str, pool_size: int = POOL_SIZE) -> Database:
    """Open a database from a URL (sqlite:///path or postgresql://…) and bind it.

    PostgreSQL is opened through a pool of at most `pool_size` connections: a request reuses
    an open one instead of paying for a new server process, and waits for one when all are
    in use. A connection found dead (the server restarted) is dropped when taken."""
    if url.startswith("sqlite:///"):
        return open_database(url.removeprefix("sqlite:///"))
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgres", "postgresql"):
        db = connect(
            f"postgresql+pool://{rest}",
            max_connections=pool_size,
            timeout=POOL_WAIT_S,
            stale_timeout=POOL_RECYCLE_S,
        )
    else:
        db = connect(url)
    previous = database.obj
    database.initialize(db)
    if isinstance(previous, PooledDatabase) and previous is not db:
        previous.close_idle()  # rebound (tests, tools): its idle connections serve no one now
    db.connect(reuse_if_open=True)
    return db


def release_connection(db: Database) -> None:
    """Give this thread's connection back to `db`'s pool (a thread done with the database
    for good, such as the one that built the app); a database without a pool keeps it."""
    if isinstance(db, PooledDatabase) and not db.is_closed():
        db.close()


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
