"""Content-addressed blob store: files named by their SHA-256, written atomically.

Transfers go in chunks through a staging area, so a cut link resumes from
the last byte received; a blob becomes visible only once complete and
verified. The staging area is bounded and old partial files are cleaned up.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from .errors import N_, SyncError, ValidationError

__all__ = ["BlobStore", "StagingFullError", "sha256_hex", "CHUNK_SIZE"]

_SHA = re.compile(r"^[0-9a-f]{64}$")

#: Bytes per transfer request: small enough that a cut costs little on 2G.
CHUNK_SIZE = 256 * 1024


class StagingFullError(SyncError):
    """The staging area is full: transfers wait until space is freed."""

    code = "staging_full"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_write(path: Path, data: bytes, mode: str = "wb") -> None:
    with path.open(mode) as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


_SENDER = re.compile(r"^[0-9a-z-]{1,64}$")


class BlobStore:
    """Blobs under `root/ab/abcdef…`; partial transfers under `root/staging/`."""

    def __init__(self, root: str | Path, *, max_staging: int = 2 * 1024**3) -> None:
        self.root = Path(root)
        self.max_staging = max_staging
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        (self.root / "staging").mkdir(parents=True, exist_ok=True)

    # -- complete blobs ----------------------------------------------------------

    def path(self, sha: str) -> Path:
        if not _SHA.match(sha or ""):
            raise ValidationError(N_("Некорректная контрольная сумма файла"), field="sha256")
        return self.root / sha[:2] / sha

    def has(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def size(self, sha: str) -> int:
        return self.path(sha).stat().st_size

    def put(self, data: bytes, expected: str | None = None) -> str:
        """Store bytes; if `expected` is given, refuse bytes whose digest differs."""
        sha = sha256_hex(data)
        if expected is not None and sha != expected:
            raise ValidationError(
                N_("Файл повреждён при передаче: контрольная сумма не совпала"), field="sha256"
            )
        target = self.path(sha)
        if target.is_file():
            return sha
        fd, tmp = tempfile.mkstemp(dir=self.root / "tmp")
        os.close(fd)
        try:
            _fsync_write(Path(tmp), data)
            self._publish(Path(tmp), target)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return sha

    def read(self, sha: str) -> bytes:
        return self.path(sha).read_bytes()

    def read_range(self, sha: str, offset: int, length: int) -> bytes:
        with self.path(sha).open("rb") as src:
            src.seek(offset)
            return src.read(length)

    def open(self, sha: str) -> BinaryIO:
        return self.path(sha).open("rb")

    def _publish(self, source: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    # -- chunked transfers ---------------------------------------------------------

    def staging_path(self, sha: str, sender: str = "") -> Path:
        self.path(sha)  # validates the digest's form
        if sender and not _SENDER.match(sender):
            raise ValidationError(N_("Некорректный отправитель файла"))
        return self.root / "staging" / (f"{sha}.{sender}.part" if sender else f"{sha}.part")

    def staged(self, sha: str, sender: str = "", *, sender_holds: bool | None = None) -> int:
        """Bytes of `sha` received so far (its full size once complete).

        With `sender`, each sender stages its own copy: a sender that does not hold the blob
        (`sender_holds` False) must deliver every byte, even of a blob the store has already.
        """
        if self.has(sha) and (sender_holds if sender_holds is not None else not sender):
            return self.size(sha)
        part = self.staging_path(sha, sender)
        return part.stat().st_size if part.is_file() else 0

    def staging_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.root / "staging").glob("*.part"))

    def append(
        self,
        sha: str,
        offset: int,
        data: bytes,
        total: int,
        sender: str = "",
        *,
        sender_holds: bool | None = None,
    ) -> int:
        """Add a chunk at `offset`; returns the bytes now held. Completes and verifies at `total`.

        A chunk at the wrong offset is not an error: the answer tells the
        sender where to resume. With `sender` (see `staged`), the chunks go to the sender's
        own staging file, and a blob already stored is still verified from the sender's bytes.
        """
        if self.has(sha) and (sender_holds if sender_holds is not None else not sender):
            return self.size(sha)
        if total <= 0 or offset < 0 or offset + len(data) > total:
            raise ValidationError(N_("Некорректный фрагмент файла"), field="offset")
        part = self.staging_path(sha, sender)
        held = part.stat().st_size if part.is_file() else 0
        if offset != held:
            return held
        if self.staging_bytes() + len(data) > self.max_staging:
            raise StagingFullError(N_("Нет места для приёма файлов: освободите место на диске"))
        _fsync_write(part, data, "ab")
        held += len(data)
        if held == total:
            self._complete(sha, part)
        return held

    def _complete(self, sha: str, part: Path) -> None:
        digest = hashlib.sha256()
        with part.open("rb") as src:
            for block in iter(lambda: src.read(1024 * 1024), b""):
                digest.update(block)
        if digest.hexdigest() != sha:
            part.unlink(missing_ok=True)
            raise ValidationError(
                N_("Файл повреждён при передаче: контрольная сумма не совпала"), field="sha256"
            )
        if self.has(sha):
            part.unlink(missing_ok=True)  # the same bytes, proven by a second sender
            return
        self._publish(part, self.path(sha))

    def cleanup_staging(self, max_age_s: float = 7 * 24 * 3600) -> int:
        """Remove partial transfers untouched for `max_age_s`; returns how many."""
        removed = 0
        cutoff = time.time() - max_age_s
        for part in (self.root / "staging").glob("*.part"):
            if part.stat().st_mtime < cutoff:
                part.unlink(missing_ok=True)
                removed += 1
        for tmp in (self.root / "tmp").iterdir():
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink(missing_ok=True)
        return removed
