"""Backup and restore of a kiosk: its database, files, identity and key in one tar.gz.

The database is copied with SQLite's online backup API in one step, so the
copy is one consistent snapshot even while the node keeps writing. Files are
copied after it: they are content-addressed and written before the rows that
name them, so every file the snapshot refers to is already there.

The archive holds the kiosk's key and its patients' data: it is written
0600 and should be kept like the kiosk itself. A restored kiosk IS the old
one (same node id and key): the old machine must not run any more.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from node.running import LOCK_FILE
from sync.clock import utcnow
from sync.migrations import SCHEMA_VERSION

from .errors import N_, BackupError
from .layout import NodeDir
from .report import software_version

__all__ = ["BackupInfo", "backup", "restore", "FORMAT"]

FORMAT = 1
MANIFEST = "manifest.json"
#: Small files of the data directory that travel with the database.
_SIDE_FILES = ("node.json", "node.key", "provision.json", "secret_key", "centre-ca.crt", "provision.log")
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


def _snapshot(database: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (WAL included) via the backup API."""
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
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
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="faplink-backup-", dir=out.parent) as scratch:
        snapshot = Path(scratch) / "node.db"
        _snapshot(nd.database, snapshot)
        members: list[tuple[str, Path]] = [("node.db", snapshot)]
        members += [(name, nd.root / name) for name in _SIDE_FILES if (nd.root / name).is_file()]
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


def _read_manifest(tar: tarfile.TarFile) -> dict[str, str]:
    try:
        member = tar.getmember(MANIFEST)
        handle = tar.extractfile(member)
        manifest = json.loads(handle.read()) if handle else None
    except (KeyError, ValueError) as exc:
        raise BackupError(N_("Это не резервная копия киоска faplink: нет описи файлов")) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(N_("Резервная копия другой версии: восстановите её той же версией программы"))
    files = manifest.get("files")
    if not isinstance(files, dict) or "node.db" not in files or "node.json" not in files:
        raise BackupError(N_("В резервной копии нет базы данных или регистрации киоска"))
    for name in files:
        if name not in ("node.db", *_SIDE_FILES) and not _BLOB.match(name):
            raise BackupError(N_("В резервной копии посторонний файл: %(name)s"), name=name)
    return {str(k): str(v) for k, v in files.items()}


def _copy_checked(source: IO[bytes], target: Path, expected: str, name: str) -> None:
    digest = hashlib.sha256()
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o600 if name in ("node.key", "secret_key", "node.db") else 0o644
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != expected:
        raise BackupError(N_("Резервная копия повреждена: файл %(name)s не совпадает с описью"), name=name)


def restore(archive: Path, nd: NodeDir) -> BackupInfo:
    """Restore a backup into an empty (or new) directory; checks every file against the manifest."""
    # A node service started on the empty directory leaves only its lock file there.
    nd.refuse_if_running()
    if nd.root.exists() and any(child.name != LOCK_FILE for child in nd.root.iterdir()):
        raise BackupError(
            N_("Каталог %(dir)s не пуст: восстанавливайте только в новый пустой каталог"), dir=str(nd.root)
        )
    nd.root.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            files = _read_manifest(tar)
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
        conn = sqlite3.connect(nd.database)
        try:
            verdict = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
        if verdict != ["ok"]:
            raise BackupError(N_("База данных в резервной копии повреждена"))
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


def _empty(root: Path) -> None:
    """Leave the target as empty as we found it, so a retry is possible."""
    import shutil

    for child in root.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
