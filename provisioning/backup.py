"""Backup and restore of a kiosk: its database, files, identity and key in one tar.gz.

The database is copied with SQLite's online backup API in one step, so the
copy is one consistent snapshot even while the node keeps writing. Files are
copied after it: they are content-addressed and written before the rows that
name them, so every file the snapshot refers to is already there.

Nothing in the archive is readable without the post's data key: the database
stays SQLCipher, the files stay sealed, and the kiosk's key (node.key, sealed at
rest already, or plain on a post not started since its upgrade) and session
secret travel sealed with AES-GCM under a key derived from the data key
(``node.key.sealed``). keyring.json travels too, so the archive opens with a
feldsher's login and password or with central's recovery key, never with the
TPM of the old machine (data-key.cred stays behind). Still written 0600. A
restored kiosk IS the old one (same node id and key): the old machine must not
run any more.

The restore is a row of the post's «Журнал доступа» (AccessAction.RESTORE) that
follows the backup's chain head: the kiosk's next rows follow it, and where central
already holds the old machine's later rows, the restore row records the fork.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.migrations import SCHEMA_VERSION
from domain.models import AccessAction, append_entry
from node.datakey import KEYRING_FILE, DataKey
from node.nodekey import seal_in_place
from node.running import LOCK_FILE
from sync.changes import latest_stamp
from sync.clock import utcnow
from sync.db import FILE_ERRORS, bind_replica, connect_file, open_database, private_dir
from sync.migrations import migrate
from sync.state import NODE_MIGRATIONS

from .errors import N_, BackupError
from .layout import NodeDir
from .report import software_version

__all__ = ["BackupInfo", "backup", "restore", "FORMAT"]

FORMAT = 2  # 1: the database, files and node.key in the clear (still restored)
MANIFEST = "manifest.json"
#: Small files of the data directory that travel with the database.
_SIDE_FILES = (
    "node.json",
    "node.key",
    "provision.json",
    "secret_key",
    "centre-ca.crt",
    "provision.log",
    KEYRING_FILE,
)
#: Side files that travel sealed (as NAME.sealed): whoever holds them can act as the kiosk.
_SECRETS = ("node.key", "secret_key")
_SEALED_SUFFIX = ".sealed"


def _archive_names() -> tuple[str, ...]:
    return (*_SIDE_FILES, *(name + _SEALED_SUFFIX for name in _SECRETS))


def _seal(key: DataKey, name: str, data: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key.derive("backup")).encrypt(nonce, data, name.encode())


def _unseal(key: DataKey, name: str, data: bytes) -> bytes:
    try:
        return AESGCM(key.derive("backup")).decrypt(data[:12], data[12:], name.encode())
    except (InvalidTag, ValueError) as exc:
        raise BackupError(N_("Резервная копия не открывается этим ключом: файл %(name)s"), name=name) from exc


_BLOB = re.compile(r"^blobs/[0-9a-f]{2}/[0-9a-f]{64}$")


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    node_id: str
    files: int
    blobs: int
    size: int


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _snapshot(database: Path, target: Path, key: bytes | None = None) -> None:
    """A consistent copy of a live SQLite database (WAL included) via the backup API; with
    `key` both are SQLCipher under that key, so the copy is as unreadable as the original."""
    source = connect_file(database, key, read_only=True)
    copy = connect_file(target, key)
    try:
        source.backup(copy)  # pages=-1: everything in one step, one read transaction
        copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    finally:
        copy.close()
        source.close()


def backup(nd: NodeDir, out: Path) -> BackupInfo:
    """Write the kiosk's backup archive to `out` (atomically, mode 0600)."""
    identity = nd.identity()
    if not nd.database.is_file():
        raise BackupError(N_("В каталоге %(dir)s нет базы данных киоска"), dir=str(nd.root))
    key = nd.data_key()
    if key is None:
        raise BackupError(
            N_("Данные киоска ещё не зашифрованы: запустите службу киоска один раз, затем повторите")
        )
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="faplink-backup-", dir=out.parent) as scratch:
        snapshot = Path(scratch) / "node.db"
        _snapshot(nd.database, snapshot, key.database_key)
        members: list[tuple[str, Path]] = [("node.db", snapshot)]
        for name in _SIDE_FILES:
            if not (nd.root / name).is_file():
                continue
            if name in _SECRETS:
                sealed = Path(scratch) / (name + _SEALED_SUFFIX)
                sealed.write_bytes(_seal(key, name, (nd.root / name).read_bytes()))
                members.append((sealed.name, sealed))
            else:
                members.append((name, nd.root / name))
        blobs = sorted(
            (f"blobs/{p.parent.name}/{p.name}", p)
            for p in nd.blobs.glob("??/*")
            if p.is_file() and _BLOB.match(f"blobs/{p.parent.name}/{p.name}")
        )
        members += blobs
        manifest = {
            "format": FORMAT,
            "node_id": identity.node_id,
            "organization_id": identity.organization_id,
            "created_at": utcnow().isoformat(),
            "software": software_version(),
            "schema": SCHEMA_VERSION,
            "files": {name: _sha256_file(path) for name, path in members},
        }
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}")
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(utcnow().timestamp()), 0o600
            tar.addfile(info, io.BytesIO(data))
            for name, path in members:
                tar.add(path, arcname=name, recursive=False)
        os.replace(tmp, out)
    nd.log("backup", file=str(out), blobs=len(blobs))
    return BackupInfo(out, identity.node_id, len(members), len(blobs), out.stat().st_size)


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
        handle = tar.extractfile(member)
        manifest = json.loads(handle.read()) if handle else None
    except (KeyError, ValueError) as exc:
        raise BackupError(N_("Это не резервная копия киоска faplink: нет описи файлов")) from exc
    if not isinstance(manifest, dict) or manifest.get("format") not in (1, FORMAT):
        raise BackupError(N_("Резервная копия другой версии: восстановите её той же версией программы"))
    files = manifest.get("files")
    if not isinstance(files, dict) or "node.db" not in files or "node.json" not in files:
        raise BackupError(N_("В резервной копии нет базы данных или регистрации киоска"))
    for name in files:
        if name not in ("node.db", *_archive_names()) and not _BLOB.match(name):
            raise BackupError(N_("В резервной копии посторонний файл: %(name)s"), name=name)
    return {**manifest, "files": {str(k): str(v) for k, v in files.items()}}


def _copy_checked(source: IO[bytes], target: Path, expected: str, name: str) -> None:
    digest = hashlib.sha256()
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o600  # a post's files are its owner's alone
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != expected:
        raise BackupError(N_("Резервная копия повреждена: файл %(name)s не совпадает с описью"), name=name)


def restore(archive: Path, nd: NodeDir, open_key: Callable[[Path], DataKey] | None = None) -> BackupInfo:
    """Restore a backup into an empty (or new) directory; checks every file against the manifest.

    `open_key(directory)` gives the post's data key once the files (keyring.json among them)
    are in place: a feldsher's login, or the key central's recovery gave."""
    # A node service started on the empty directory leaves only its lock file there.
    nd.refuse_if_running()
    if nd.root.exists() and any(child.name != LOCK_FILE for child in nd.root.iterdir()):
        raise BackupError(
            N_("Каталог %(dir)s не пуст: восстанавливайте только в новый пустой каталог"), dir=str(nd.root)
        )
    nd.root.mkdir(parents=True, exist_ok=True)
    private_dir(nd.root)
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            manifest = _read_manifest(tar)
            files: dict[str, str] = manifest["files"]
            seen: set[str] = set()
            for member in tar:
                if member.name == MANIFEST:
                    continue
                if member.name not in files or not member.isfile() or member.name in seen:
                    raise BackupError(N_("В резервной копии посторонний файл: %(name)s"), name=member.name)
                handle = tar.extractfile(member)
                assert handle is not None
                _copy_checked(handle, nd.root / member.name, files[member.name], member.name)
                seen.add(member.name)
            if seen != set(files):
                raise BackupError(
                    N_("Резервная копия неполна: не хватает %(n)s файлов"), n=len(set(files) - seen)
                )
        key = None
        if any(name.endswith(_SEALED_SUFFIX) for name in files):
            if open_key is None:
                raise BackupError(N_("Резервная копия зашифрована: нужен ключ данных ФАП"))
            key = open_key(nd.root)
            for name in _SECRETS:
                sealed = nd.root / (name + _SEALED_SUFFIX)
                if sealed.is_file():
                    _write_private(nd.root / name, _unseal(key, name, sealed.read_bytes()))
                    sealed.unlink()
        try:
            with closing(connect_file(nd.database, key.database_key if key else None)) as conn:
                verdict = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        except FILE_ERRORS as exc:
            raise BackupError(
                N_("Резервная копия не открывается этим ключом: файл %(name)s"), name="node.db"
            ) from exc
        if verdict != ["ok"]:
            raise BackupError(N_("База данных в резервной копии повреждена"))
        if key is not None:
            nd.remember_key(key)
            seal_in_place(nd.key_file, key)  # a backup of a post not started since its upgrade
        _journal_restore(nd, key, str(manifest.get("created_at") or ""))
    except (OSError, tarfile.TarError, EOFError) as exc:
        _empty(nd.root)
        raise BackupError(
            N_("Не удалось прочитать резервную копию %(path)s: %(error)s"), path=str(archive), error=str(exc)
        ) from exc
    except BaseException:
        _empty(nd.root)
        raise
    identity = nd.identity()
    blobs = sum(1 for name in files if name.startswith("blobs/"))
    nd.log("restored", file=str(archive))
    return BackupInfo(archive, identity.node_id, len(files), blobs, archive.stat().st_size)


def _journal_restore(nd: NodeDir, key: DataKey | None, made_at: str) -> None:
    """The restore as a row of the post's access journal, after the backup's chain head."""
    identity = nd.identity()
    db = open_database(nd.database, key.database_key if key is not None else None)
    try:
        migrate(db, NODE_MIGRATIONS)  # a backup of an older version: the node would do it at start
        bind_replica(identity.node_id, latest_stamp())
        append_entry(
            organization=identity.organization_id,
            action=AccessAction.RESTORE,
            kind="backup",
            detail=f"restored from the backup made {made_at}"[:200],
        )
    finally:
        db.close()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _empty(root: Path) -> None:
    """Leave the target as empty as we found it, so a retry is possible."""
    import shutil

    for child in root.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
