"""Offline enrolment bundles: a file central signs, carried to a post with no link on a USB stick.

Why the bundle carries a node key made by central rather than a one-time
token: the kiosk must work at once and sync later by itself, and the node's
ordinary sync worker (which knows nothing of provisioning) can only sign
with a key central already knows. So central pre-registers the node id and
its key at export; the first real sync needs nothing special. The key on the
stick is replaced by one made on the kiosk (`rotate-key`, or automatically by
`provisioning.report.Reporter` on the first round) once the link appears.

File format (every byte covered; a change anywhere is refused)::

    FAPLINK-ENROLMENT-BUNDLE 1\\n
    <centre bundle key, 64 lowercase hex>\\n
    <Ed25519 signature, 128 lowercase hex>\\n
    <gzip(JSON payload)>

The signature covers ``faplink-enrolment-bundle/1\\n<key hex>\\n<gzip payload>``.
The payload: bundle id, node id, post, central URL, the node key (PEM), the
centre's CA certificate, and the post's records with the pull cursor they
reach, so that the first sync continues from there and repeats nothing.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import N_, BundleError
from .keyfile import kept_private_key

__all__ = [
    "Bundle",
    "centre_bundle_key",
    "public_hex",
    "fingerprint",
    "seal",
    "open_bundle",
    "BUNDLE_KEY_FILE",
    "FORMAT",
]

FORMAT = 1
MAGIC = b"FAPLINK-ENROLMENT-BUNDLE 1\n"
_SIGNED_PREFIX = b"faplink-enrolment-bundle/1\n"
_KEY_LINE = re.compile(rb"^[0-9a-f]{64}$")
_SIG_LINE = re.compile(rb"^[0-9a-f]{128}$")
#: The signing key central keeps in its data directory (PEM, 0600).
BUNDLE_KEY_FILE = "bundle-signing.key"
_MAX_PAYLOAD = 256 * 1024 * 1024


def fingerprint(public_hex: str) -> str:
    """A key's SHA-256 (first half) in groups of four hex digits, for an engineer to read out."""
    digest = hashlib.sha256(bytes.fromhex(public_hex)).hexdigest().upper()
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


def public_hex(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def centre_bundle_key(central_data_dir: Path) -> Ed25519PrivateKey:
    """central's bundle signing key, made on first use and kept (0600) in its data directory."""
    path = Path(central_data_dir) / BUNDLE_KEY_FILE
    key = kept_private_key(path, Ed25519PrivateKey.generate)
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(N_("Ключ подписи пакетов регистрации повреждён: %(path)s"), path=str(path))
    return key


@dataclass(frozen=True)
class Bundle:
    """A verified bundle: who signed it and what it carries."""

    centre_key: str  # hex of the centre's Ed25519 public key
    payload: dict[str, Any]

    @property
    def node_id(self) -> str:
        return str(self.payload["node_id"])

    @property
    def organization_id(self) -> str:
        return str(self.payload["organization_id"])

    @property
    def central_url(self) -> str:
        return str(self.payload["central_url"])

    @property
    def records(self) -> list[dict[str, Any]]:
        return list(self.payload.get("records") or [])

    @property
    def cursor(self) -> int:
        return int(self.payload.get("cursor") or 0)


def _signed_bytes(key_hex: bytes, body: bytes) -> bytes:
    return _SIGNED_PREFIX + key_hex + b"\n" + body


def seal(payload: dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    """The bundle file's bytes for `payload`, signed with the centre's bundle key."""
    body = gzip.compress(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode(),
        compresslevel=6,
        mtime=0,
    )
    key_hex = public_hex(key).encode()
    signature = key.sign(_signed_bytes(key_hex, body)).hex().encode()
    return MAGIC + key_hex + b"\n" + signature + b"\n" + body


_DAMAGED = N_(
    "Пакет регистрации повреждён или изменён: подпись центра не сходится. "
    "Не используйте этот файл, выгрузите в центре новый пакет"
)


def open_bundle(data: bytes) -> Bundle:
    """Check the signature over every byte and parse; BundleError says what is wrong."""
    if not data.startswith(MAGIC):
        raise BundleError(N_("Это не пакет регистрации faplink (или файл повреждён в начале)"))
    rest = data[len(MAGIC) :]
    parts = rest.split(b"\n", 2)
    if len(parts) != 3 or not _KEY_LINE.match(parts[0]) or not _SIG_LINE.match(parts[1]):
        raise BundleError(_DAMAGED)
    key_hex, sig_hex, body = parts
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex.decode())).verify(
            bytes.fromhex(sig_hex.decode()), _signed_bytes(key_hex, body)
        )
    except (ValueError, InvalidSignature) as exc:
        raise BundleError(_DAMAGED) from exc
    try:
        raw = gzip.GzipFile(fileobj=io.BytesIO(body)).read(_MAX_PAYLOAD + 1)
        payload = json.loads(raw.decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
        raise BundleError(_DAMAGED) from exc
    required = ("node_id", "organization_id", "central_url", "node_key", "records", "cursor")
    if (
        not isinstance(payload, dict)
        or payload.get("format") != FORMAT
        or any(k not in payload for k in required)
    ):
        raise BundleError(
            N_("Пакет регистрации другой версии: обновите программу киоска или выгрузите пакет заново")
        )
    return Bundle(key_hex.decode(), payload)
