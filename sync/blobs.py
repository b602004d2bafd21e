"""Content-addressed blob store: files named by their SHA-256, written atomically.

Transfers go in chunks through a staging area, so a cut link resumes from
the last byte received; a blob becomes visible only once complete and
verified. The staging area is bounded and old partial files are cleaned up.

With a key (a post's store) every file is sealed with AES-256-GCM: the content
address stays the SHA-256 of the plaintext, a complete blob is a header and
64 KiB segments each with its own nonce and tag (so a range is read without
decrypting the whole file), and a partial download is staged chunk by chunk,
each chunk sealed as it arrives: no plaintext byte of a file ever reaches the
disk. Central's store has no key (its disk is the server's, encrypted there).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import struct
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from i18n import N_

from .errors import MalformedError, SyncError

__all__ = ["BlobStore", "StagingFullError", "sha256_hex", "CHUNK_SIZE", "SealedBlobError"]

_SHA = re.compile(r"^[0-9a-f]{64}$")

#: Bytes per transfer request: small enough that a cut costs little on 2G.
CHUNK_SIZE = 256 * 1024


class StagingFullError(SyncError):
    """The staging area is full: transfers wait until space is freed."""

    code = "staging_full"


class SealedBlobError(SyncError):
    """A sealed file does not open with this store's key (wrong key, or the file was altered)."""

    code = "blob_sealed"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fsync_write(path: Path, data: bytes, mode: str = "wb") -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    with os.fdopen(os.open(path, flags, 0o600), mode) as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


#: A sealed blob: this line, the plaintext's size (8 bytes), then segments of
#: nonce (12) + ciphertext of up to _SEGMENT bytes + tag (16).
_BLOB_MAGIC = b"faplink-blob/1\n"
_HEADER = len(_BLOB_MAGIC) + 8
_SEGMENT = 64 * 1024
_NONCE = 12
_TAG = 16
#: A sealed staging file: this line, then one record per chunk received:
#: plaintext length (4 bytes) + nonce + ciphertext + tag.
_PART_MAGIC = b"faplink-part/1\n"
_RECORD = struct.Struct(">I")


def _segments(pieces: Iterable[bytes], size: int = _SEGMENT) -> Iterator[bytes]:
    """Re-cut a stream of byte strings into pieces of `size` (the last may be shorter)."""
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


_SENDER = re.compile(r"^[0-9a-z-]{1,64}$")


class BlobStore:
    """Blobs under `root/ab/abcdef…`; partial transfers under `root/staging/`.

    With `key` (32 bytes for AES-256-GCM) every file is sealed (see the module's note)."""

    def __init__(
        self, root: str | Path, *, max_staging: int = 2 * 1024**3, key: bytes | None = None
    ) -> None:
        self.root = Path(root)
        self.max_staging = max_staging
        self._aead = AESGCM(key) if key is not None else None
        for directory in (self.root, self.root / "tmp", self.root / "staging"):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(directory, 0o700)

    @property
    def sealed(self) -> bool:
        return self._aead is not None

    # -- complete blobs ----------------------------------------------------------

    def path(self, sha: str) -> Path:
        if not _SHA.match(sha or ""):
            raise MalformedError(N_("Некорректная контрольная сумма файла"), field="sha256")
        return self.root / sha[:2] / sha

    def has(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def size(self, sha: str) -> int:
        if self._aead is None:
            return self.path(sha).stat().st_size
        with self.path(sha).open("rb") as src:
            return self._read_header(src, sha)

    def put(self, data: bytes, expected: str | None = None) -> str:
        """Store bytes; if `expected` is given, refuse bytes whose digest differs."""
        sha = sha256_hex(data)
        if expected is not None and sha != expected:
            raise MalformedError(
                N_("Файл повреждён при передаче: контрольная сумма не совпала"), field="sha256"
            )
        target = self.path(sha)
        if target.is_file():
            return sha
        fd, tmp = tempfile.mkstemp(dir=self.root / "tmp")
        os.close(fd)
        try:
            if self._aead is None:
                _fsync_write(Path(tmp), data)
            else:
                self._write_sealed(Path(tmp), sha, len(data), [data])
            self._publish(Path(tmp), target)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return sha

    def read(self, sha: str) -> bytes:
        if self._aead is None:
            return self.path(sha).read_bytes()
        size = self.size(sha)
        return self.read_range(sha, 0, size)

    def read_range(self, sha: str, offset: int, length: int) -> bytes:
        with self.path(sha).open("rb") as src:
            if self._aead is None:
                src.seek(offset)
                return src.read(length)
            size = self._read_header(src, sha)
            end = min(offset + length, size)
            out = bytearray()
            index = offset // _SEGMENT
            while index * _SEGMENT < end:
                src.seek(_HEADER + index * (_NONCE + _SEGMENT + _TAG))
                plain_len = min(_SEGMENT, size - index * _SEGMENT)
                stored = src.read(_NONCE + plain_len + _TAG)
                out += self._open(stored, self._segment_aad(sha, size, index))
                index += 1
            start = offset - (offset // _SEGMENT) * _SEGMENT
            return bytes(out[start : start + max(0, end - offset)])

    def open(self, sha: str) -> BinaryIO:
        if self._aead is None:
            return self.path(sha).open("rb")
        return io.BytesIO(self.read(sha))

    # -- sealing -------------------------------------------------------------------

    def _seal(self, data: bytes, aad: bytes) -> bytes:
        assert self._aead is not None
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, data, aad)

    def _open(self, stored: bytes, aad: bytes) -> bytes:
        assert self._aead is not None
        try:
            return self._aead.decrypt(stored[:_NONCE], stored[_NONCE:], aad)
        except (InvalidTag, ValueError) as exc:
            raise SealedBlobError(N_("Файл не расшифровывается: ключ не тот или файл повреждён")) from exc

    @staticmethod
    def _segment_aad(sha: str, size: int, index: int) -> bytes:
        return b"blob" + bytes.fromhex(sha) + struct.pack(">QQ", size, index)

    def _read_header(self, src: BinaryIO, sha: str) -> int:
        header = src.read(_HEADER)
        if len(header) != _HEADER or not header.startswith(_BLOB_MAGIC):
            raise SealedBlobError(N_("Файл не расшифровывается: ключ не тот или файл повреждён"))
        return int(struct.unpack(">Q", header[len(_BLOB_MAGIC) :])[0])

    def _write_sealed(self, target: Path, sha: str, size: int, pieces: Iterable[bytes]) -> None:
        """Write the sealed form of the plaintext `pieces` (of `size` bytes in all) to `target`."""
        with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            out.write(_BLOB_MAGIC + struct.pack(">Q", size))
            for index, segment in enumerate(_segments(pieces)):
                out.write(self._seal(segment, self._segment_aad(sha, size, index)))
            out.flush()
            os.fsync(out.fileno())

    def is_sealed_file(self, path: Path) -> bool:
        with path.open("rb") as src:
            return src.read(len(_BLOB_MAGIC)) == _BLOB_MAGIC

    def seal_existing(self) -> int:
        """Seal, one by one, the plain blobs an older version left (a post's upgrade); returns how
        many. Each is written sealed beside itself and renamed over it, so a crash leaves every
        file whole, plain or sealed, and the next start goes on. Plain partial downloads are
        dropped: they are fetched again."""
        done = self.root / "sealed"
        if self._aead is None or done.is_file():
            return 0
        sealed = 0
        for path in sorted(self.root.glob("??/*")):
            if not (path.is_file() and _SHA.match(path.name)) or self.is_sealed_file(path):
                continue
            digest = hashlib.sha256()
            size = path.stat().st_size
            with path.open("rb") as src:
                for block in iter(lambda: src.read(1024 * 1024), b""):
                    digest.update(block)
            if digest.hexdigest() != path.name:
                continue  # neither a plain blob nor a sealed one: leave it to the engineer
            fd, tmp = tempfile.mkstemp(dir=self.root / "tmp")
            os.close(fd)
            try:
                with path.open("rb") as src:
                    self._write_sealed(Path(tmp), path.name, size, iter(lambda: src.read(_SEGMENT), b""))
                self._publish(Path(tmp), path)
            finally:
                Path(tmp).unlink(missing_ok=True)
            sealed += 1
        for part in (self.root / "staging").glob("*.part"):
            with part.open("rb") as src:
                if src.read(len(_PART_MAGIC)) != _PART_MAGIC:
                    part.unlink()
        for directory in self.root.glob("??"):
            os.chmod(directory, 0o700)
        _fsync_write(done, b"every blob here is sealed\n")
        return sealed

    def _publish(self, source: Path, target: Path) -> None:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
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
            raise MalformedError(N_("Некорректный отправитель файла"))
        return self.root / "staging" / (f"{sha}.{sender}.part" if sender else f"{sha}.part")

    def staged(self, sha: str, sender: str = "", *, sender_holds: bool | None = None) -> int:
        """Bytes of `sha` received so far (its full size once complete).

        With `sender`, each sender stages its own copy: a sender that does not hold the blob
        (`sender_holds` False) must deliver every byte, even of a blob the store has already.
        """
        if self.has(sha) and (sender_holds if sender_holds is not None else not sender):
            return self.size(sha)
        part = self.staging_path(sha, sender)
        if self._aead is not None:
            return self._scan_part(part, sha)[0]
        return part.stat().st_size if part.is_file() else 0

    def _part_aad(self, sha: str, sender: str, offset: int) -> bytes:
        return b"part" + bytes.fromhex(sha) + sender.encode() + b"\x00" + struct.pack(">Q", offset)

    def _scan_part(self, part: Path, sha: str) -> tuple[int, int]:
        """(plaintext bytes held, length of the file's whole records) of a sealed staging file;
        a record cut short by a crash does not count."""
        if not part.is_file():
            return 0, 0
        length = part.stat().st_size
        with part.open("rb") as src:
            if src.read(len(_PART_MAGIC)) != _PART_MAGIC:
                return 0, 0
            held, position = 0, len(_PART_MAGIC)
            while position + _RECORD.size <= length:
                (plain_len,) = _RECORD.unpack(src.read(_RECORD.size))
                end = position + _RECORD.size + _NONCE + plain_len + _TAG
                if end > length:
                    break
                src.seek(end)
                held, position = held + plain_len, end
        return held, position

    def _part_records(self, part: Path, sha: str, sender: str) -> Iterator[bytes]:
        """The plaintext chunks of a sealed staging file, in order."""
        with part.open("rb") as src:
            src.seek(len(_PART_MAGIC))
            offset = 0
            while header := src.read(_RECORD.size):
                (plain_len,) = _RECORD.unpack(header)
                stored = src.read(_NONCE + plain_len + _TAG)
                chunk = self._open(stored, self._part_aad(sha, sender, offset))
                offset += len(chunk)
                yield chunk

    def staging_bytes(self) -> int:
        return sum(_size_or_gone(p) for p in (self.root / "staging").glob("*.part"))

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
            raise MalformedError(N_("Некорректный фрагмент файла"), field="offset")
        part = self.staging_path(sha, sender)
        if self._aead is None:
            held = part.stat().st_size if part.is_file() else 0
        else:
            held, whole = self._scan_part(part, sha)
        if offset != held:
            return held
        if self.staging_bytes() + len(data) > self.max_staging:
            raise StagingFullError(N_("Нет места для приёма файлов: освободите место на диске"))
        if self._aead is None:
            _fsync_write(part, data, "ab")
        else:
            if whole == 0:
                _fsync_write(part, _PART_MAGIC)  # a new file, or one whose first record was cut
            elif part.stat().st_size > whole:
                os.truncate(part, whole)  # drop a record a crash cut short
            sealed = self._seal(data, self._part_aad(sha, sender, offset))
            _fsync_write(part, _RECORD.pack(len(data)) + sealed, "ab")
        held += len(data)
        if held == total:
            self._complete(sha, part, sender, total)
        return held

    def _complete(self, sha: str, part: Path, sender: str = "", total: int = 0) -> None:
        if self._aead is not None:
            self._complete_sealed(sha, part, sender, total)
            return
        digest = hashlib.sha256()
        with part.open("rb") as src:
            for block in iter(lambda: src.read(1024 * 1024), b""):
                digest.update(block)
        if digest.hexdigest() != sha:
            part.unlink(missing_ok=True)
            raise MalformedError(
                N_("Файл повреждён при передаче: контрольная сумма не совпала"), field="sha256"
            )
        if self.has(sha):
            part.unlink(missing_ok=True)  # the same bytes, proven by a second sender
            return
        self._publish(part, self.path(sha))

    def _complete_sealed(self, sha: str, part: Path, sender: str, total: int) -> None:
        """Re-seal the staged chunks as a blob, checking the digest on the way; publish if right."""
        digest = hashlib.sha256()

        def checked() -> Iterator[bytes]:
            for chunk in self._part_records(part, sha, sender):
                digest.update(chunk)
                yield chunk

        fd, tmp = tempfile.mkstemp(dir=self.root / "tmp")
        os.close(fd)
        try:
            self._write_sealed(Path(tmp), sha, total, checked())
            if digest.hexdigest() != sha:
                part.unlink(missing_ok=True)
                raise MalformedError(
                    N_("Файл повреждён при передаче: контрольная сумма не совпала"), field="sha256"
                )
            if not self.has(sha):
                self._publish(Path(tmp), self.path(sha))
            part.unlink(missing_ok=True)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def cleanup_staging(self, max_age_s: float = 7 * 24 * 3600) -> int:
        """Remove partial transfers untouched for `max_age_s`; returns how many."""
        removed = 0
        cutoff = time.time() - max_age_s
        for part in (self.root / "staging").glob("*.part"):
            if _modified_or_gone(part) < cutoff:
                part.unlink(missing_ok=True)
                removed += 1
        for tmp in (self.root / "tmp").iterdir():
            if _modified_or_gone(tmp) < cutoff:
                tmp.unlink(missing_ok=True)
        return removed


# Other transfers go on meanwhile (a post sends several files at once): a file listed a moment
# ago may have been completed and moved, or dropped, before it is looked at.


def _size_or_gone(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _modified_or_gone(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")
