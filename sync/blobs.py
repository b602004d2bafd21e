"""Content-addressed blob store: files named by their SHA-256, written atomically."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

from .errors import N_, ValidationError

__all__ = ["BlobStore", "sha256_hex"]

_SHA = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Blobs under `root/ab/abcdef…`; a blob is visible only once fully written and verified."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    def path(self, sha: str) -> Path:
        if not _SHA.match(sha):
            raise ValidationError(N_("Некорректная контрольная сумма файла"), field="sha256")
        return self.root / sha[:2] / sha

    def has(self, sha: str) -> bool:
        return self.path(sha).is_file()

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
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root / "tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def read(self, sha: str) -> bytes:
        return self.path(sha).read_bytes()

    def open(self, sha: str) -> BinaryIO:
        return self.path(sha).open("rb")
