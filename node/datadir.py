"""What the node checks of its data directory before it serves: its key file and its database.

A database that lost its -wal (a crash, then a copy or a disk repair that left the -wal
behind) opens as it was at its last checkpoint, silently without what was written
since; one that is missing or empty would be rebuilt as an empty schema. Either way
the post's unsent records vanish. So the node keeps ``node.db.mark`` beside node.db:
the newest change number (the `sync_sequence`) a committed transaction made, written
anew (fsynced, then renamed) after each commit that took one. At open the database
must hold at least that number; and where a database was (the mark, a completed sync
round, a feldsher's login in the keyring), a missing or empty node.db is refused,
saying what to do. The mark only ever lags what is committed: at worst it misses the
last write before a crash, and never refuses a database that holds everything.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

from peewee import Database, DatabaseError

from sync.db import FILE_ERRORS, CommitListeners, open_database

from .datakey import DataKey, DataKeyError, encrypt_plain_database, read_keyring
from .errors import N_, DatabaseRefused, NodeError, NoRoomOnDisk
from .nodekey import key_file_state

__all__ = [
    "MARK_SUFFIX",
    "DatabaseMark",
    "check_before_open",
    "check_present",
    "check_against_mark",
    "damaged",
    "open_post_database",
    "keep_mark",
    "database_seq",
]

log = logging.getLogger(__name__)

#: node.db.mark: the newest committed change number, beside node.db.
MARK_SUFFIX = ".mark"
#: Free bytes below which a database that does not open is taken for a full disk, not a damaged file.
_NO_ROOM = 1024 * 1024


class DatabaseMark:
    """node.db.mark: the newest change number node.db is known to have committed."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + MARK_SUFFIX)
        self._written = -1
        self._lock = threading.Lock()

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> int:
        """The marked change number; 0 if there is no mark or it cannot be read."""
        try:
            return int(json.loads(self.path.read_text())["seq"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def write(self, seq: int) -> None:
        """Mark `seq` (if it is newer than what this process marked): fsynced, then renamed."""
        with self._lock:
            if seq <= self._written:
                return
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            try:
                with os.fdopen(fd, "w") as out:
                    json.dump({"seq": seq}, out)
                    out.flush()
                    os.fsync(out.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._written = seq


def damaged(database: Path) -> NodeError:
    """The error for a node.db that does not open: not a database, cut short, another key; or
    only a full disk (SQLite cannot open its -wal then), which must not send anyone to a backup."""
    try:
        full = shutil.disk_usage(database.parent).free < _NO_ROOM
    except OSError:
        full = False
    if full:
        return NoRoomOnDisk(
            N_(
                "Недостаточно места на диске: базу данных киоска %(path)s не открыть, пока его нет. "
                "Освободите место или позвоните в техподдержку; сохранённое раньше не потеряно"
            ),
            path=str(database),
        )
    return DatabaseRefused(
        N_(
            "База данных киоска %(path)s повреждена или не открывается ключом данных ФАП: "
            "восстановите киоск из резервной копии в новый каталог (faplink provision restore --from "
            "АРХИВ --data КАТАЛОГ) или зарегистрируйте его заново (faplink provision enroll --force)"
        ),
        path=str(database),
    )


def _was_here(data_dir: Path) -> bool:
    """Whether this post has had a database: its mark, a completed sync round, a login."""
    if DatabaseMark(data_dir / "node.db").exists():
        return True
    if read_keyring(data_dir).get("had_logins"):
        return True
    try:
        status = json.loads((data_dir / "sync-status.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(status, dict) and bool(status.get("last_success"))


def check_before_open(data_dir: Path) -> None:
    """Refuse a missing or unreadable node.key, and a missing or empty node.db where a
    database was; a post enrolled but never started has neither, and starts."""
    key_file_state(data_dir / "node.key")
    check_present(data_dir / "node.db")


def check_present(database: Path) -> None:
    """Refuse a missing or empty node.db where a database was (see `_was_here`)."""
    if not _was_here(database.parent):
        return
    if not database.is_file():
        raise DatabaseRefused(
            N_(
                "Нет базы данных киоска %(path)s, хотя киоск уже работал с ней: восстановите киоск "
                "из резервной копии в новый каталог (faplink provision restore --from АРХИВ --data "
                "КАТАЛОГ) или зарегистрируйте его заново (faplink provision enroll --force)"
            ),
            path=str(database),
        )
    if database.stat().st_size == 0:
        raise DatabaseRefused(
            N_(
                "База данных киоска %(path)s пуста (0 байт), хотя киоск уже работал с ней: "
                "восстановите киоск из резервной копии в новый каталог (faplink provision restore "
                "--from АРХИВ --data КАТАЛОГ) или зарегистрируйте его заново (faplink provision "
                "enroll --force)"
            ),
            path=str(database),
        )


def check_against_mark(database: Path, seq: int) -> None:
    """Refuse a database whose newest change number `seq` is behind its mark."""
    mark = DatabaseMark(database)
    if not mark.exists() or seq >= mark.read():
        return
    raise DatabaseRefused(
        N_(
            "База данных киоска %(path)s неполна: в ней изменения до №%(found)s, а записано было "
            "до №%(marked)s (потерян файл -wal или подложена старая копия). Восстановите киоск из "
            "резервной копии в новый каталог (faplink provision restore --from АРХИВ --data "
            "КАТАЛОГ) или зарегистрируйте его заново (faplink provision enroll --force)"
        ),
        path=str(database),
        found=seq,
        marked=mark.read(),
    )


def database_seq(db: Database) -> int:
    """The newest change number the database holds (0 before its first migration)."""
    try:
        row = db.execute_sql("SELECT value FROM sync_sequence WHERE name = 'changes'").fetchone()
    except DatabaseError as exc:
        if "no such table" in str(exc):
            return 0
        raise
    return int(row[0]) if row else 0


def open_post_database(database: Path, key: DataKey) -> Database:
    """Open node.db with the data key (converting a plain one of an older version first) and
    bind it; refuse a damaged database, or one that holds less than its mark says was
    committed (a lost -wal, an older copy put in its place)."""
    try:
        encrypt_plain_database(database, key)
        db = open_database(database, key.database_key)
        seq = database_seq(db)
    except (DatabaseError, DataKeyError) as exc:
        log.debug("node.db does not open: %s", exc)
        raise damaged(database) from exc
    except FILE_ERRORS as exc:  # the conversion of a plain one, on a connection of its own
        log.debug("node.db does not open: %s", exc)
        raise damaged(database) from exc
    try:
        check_against_mark(database, seq)
    except DatabaseRefused:
        db.close()
        raise
    return db


def keep_mark(db: Database, database: Path) -> DatabaseMark:
    """Mark the database's change number now and after every commit that changes it."""
    mark = DatabaseMark(database)

    def after_commit() -> None:
        try:
            mark.write(database_seq(db))
        except (OSError, DatabaseError) as exc:  # a full disk: the mark lags, it never lies
            log.warning("node.db.mark not updated: %s", exc)

    after_commit()
    if isinstance(db, CommitListeners):
        db.commit_listeners.append(after_commit)
    return mark
