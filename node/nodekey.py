"""node.key at rest: the kiosk's Ed25519 signing key, sealed under the post's data key.

Whoever holds node.key can sign sync requests as this kiosk, so it is kept like the
post's data: AES-256-GCM under a key derived from the data key (a label of its own),
in a 0600 file whose first line says what it is. Enrolment by provisioning writes it
sealed; enrolment before the post has a data key (`faplink node enroll`, the demo) and
older versions wrote it plain, and the node's first start with the data key seals it
in place: written beside itself, checked, fsynced, renamed over it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sync.errors import AuthError
from sync.request_signing import NodeKey

from .datakey import DataKey
from .errors import N_, NodeKeyError

__all__ = ["SEALED_HEADER", "key_file_state", "read_node_key", "write_node_key", "seal_in_place"]

#: The first line of a sealed node.key (a plain one is PEM: "-----BEGIN PRIVATE KEY-----").
SEALED_HEADER = b"faplink sealed node key 1\n"
_LABEL = "node.key"
_AAD = b"faplink/node.key"

KeyFileState = Literal["sealed", "plain"]


def _sealer(data_key: DataKey) -> AESGCM:
    return AESGCM(data_key.derive(_LABEL))


def _seal(key: NodeKey, data_key: DataKey) -> bytes:
    nonce = os.urandom(12)
    return SEALED_HEADER + nonce + _sealer(data_key).encrypt(nonce, key.pem(), _AAD)


def _missing(path: Path) -> NodeKeyError:
    return NodeKeyError(
        N_(
            "Нет ключа киоска %(path)s: восстановите киоск из резервной копии в новый каталог "
            "(faplink provision restore --from АРХИВ --data КАТАЛОГ) или зарегистрируйте его заново "
            "(faplink provision enroll --force)"
        ),
        path=str(path),
    )


def _damaged(path: Path) -> NodeKeyError:
    return NodeKeyError(
        N_(
            "Ключ киоска %(path)s повреждён: восстановите киоск из резервной копии в новый каталог "
            "(faplink provision restore --from АРХИВ --data КАТАЛОГ) или зарегистрируйте его заново "
            "(faplink provision enroll --force)"
        ),
        path=str(path),
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise _missing(path) from None
    except OSError as exc:
        raise _damaged(path) from exc


def key_file_state(path: Path) -> KeyFileState:
    """Whether node.key is sealed or (an older version's) plain; NodeKeyError if it is missing
    or is neither. Needs no data key: checked before the node opens anything."""
    data = _read(path)
    if data.startswith(SEALED_HEADER):
        if len(data) <= len(SEALED_HEADER) + 12 + 16:
            raise _damaged(path)
        return "sealed"
    try:
        NodeKey.from_pem(data)
    except AuthError:
        raise _damaged(path) from None
    return "plain"


def read_node_key(path: Path, data_key: DataKey | None) -> NodeKey:
    """The kiosk's key from `path`: unsealed with `data_key`, or a plain one as it is."""
    data = _read(path)
    if not data.startswith(SEALED_HEADER):
        try:
            return NodeKey.from_pem(data)
        except AuthError:
            raise _damaged(path) from None
    if data_key is None:
        raise NodeKeyError(
            N_(
                "Ключ киоска %(path)s зашифрован ключом данных ФАП, а он ещё не открыт: войдите "
                "логином фельдшера или восстановите ключ через центр (faplink provision recover)"
            ),
            path=str(path),
        )
    sealed = data[len(SEALED_HEADER) :]
    try:
        pem = _sealer(data_key).decrypt(sealed[:12], sealed[12:], _AAD)
    except (InvalidTag, ValueError):
        raise NodeKeyError(
            N_(
                "Ключ киоска %(path)s не открывается ключом данных ФАП (файл изменён или от другого "
                "киоска): восстановите киоск из резервной копии в новый каталог или зарегистрируйте "
                "его заново (faplink provision enroll --force)"
            ),
            path=str(path),
        ) from None
    try:
        return NodeKey.from_pem(pem)
    except AuthError:
        raise _damaged(path) from None


def write_node_key(path: Path, key: NodeKey, data_key: DataKey | None) -> None:
    """Write `key` to `path` atomically (0600): sealed under `data_key`, plain without one
    (a post of an older version whose data is not encrypted yet: its first start seals it)."""
    data = _seal(key, data_key) if data_key is not None else key.pem()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)
        if data_key is not None and read_node_key(Path(tmp), data_key).public_hex != key.public_hex:
            raise NodeKeyError(N_("Ключ киоска %(path)s не записался: повторите"), path=str(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def seal_in_place(path: Path, data_key: DataKey) -> bool:
    """Seal a plain node.key under the data key (an upgraded post, a kiosk enrolled before it
    had a data key); returns whether it did. A crash leaves the plain file or the sealed one."""
    if key_file_state(path) == "sealed":
        return False
    write_node_key(path, read_node_key(path, None), data_key)
    return True
