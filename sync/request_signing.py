"""Ed25519 node identity and signed sync requests.

A request is signed over its method, path (with query), the SHA-256 of its
body, a timestamp and a nonce; central checks all five (see `sync.server`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from i18n import N_

from .errors import AuthError, BadSignatureError

__all__ = ["NodeKey", "signed_headers", "check_signature", "HEADERS"]


class HEADERS:
    NODE = "X-Faplink-Node"
    TIME = "X-Faplink-Time"
    NONCE = "X-Faplink-Nonce"
    SIGNATURE = "X-Faplink-Signature"


def _canonical(method: str, path: str, body: bytes, timestamp: str, nonce: str) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join([method.upper(), path, digest, timestamp, nonce]).encode()


class NodeKey:
    """A node's private signing key (at a post, node.key: sealed under its data key, 0600)."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private

    @classmethod
    def generate(cls) -> NodeKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: str | Path) -> NodeKey:
        return cls.from_pem(Path(path).read_bytes())

    @classmethod
    def from_pem(cls, pem: bytes) -> NodeKey:
        """The key from its PKCS#8 PEM; AuthError if that is not an Ed25519 private key."""
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise AuthError(N_("Файл ключа узла повреждён: это не ключ Ed25519")) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise AuthError(N_("Файл ключа узла повреждён: это не ключ Ed25519"))
        return cls(key)

    def pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM (the caller seals it before it is stored)."""
        return self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def save(self, path: str | Path) -> None:
        """Write the key in the clear (0600): enrolment before the post has a data key, which
        seals it on the node's first start (node/nodekey.py), and central's test tools."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(self.pem())

    @property
    def public_hex(self) -> str:
        raw = self._private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return raw.hex()

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)


def signed_headers(
    key: NodeKey, node_id: str, method: str, path: str, body: bytes, *, clock_offset_ms: int = 0
) -> dict[str, str]:
    """Headers that authenticate one request; `clock_offset_ms` corrects a wrong local clock."""
    timestamp = str(int(time.time() * 1000) + clock_offset_ms)
    nonce = secrets.token_hex(16)
    signature = key.sign(_canonical(method, path, body, timestamp, nonce))
    return {
        HEADERS.NODE: node_id,
        HEADERS.TIME: timestamp,
        HEADERS.NONCE: nonce,
        HEADERS.SIGNATURE: base64.b64encode(signature).decode(),
    }


def check_signature(
    public_hex: str, method: str, path: str, body: bytes, headers: Mapping[str, str]
) -> None:
    """Raise AuthError unless the headers carry a valid signature of this request."""
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        signature = base64.b64decode(headers[HEADERS.SIGNATURE], validate=True)
        data = _canonical(method, path, body, headers[HEADERS.TIME], headers[HEADERS.NONCE])
        public.verify(signature, data)
    except (KeyError, ValueError, InvalidSignature) as exc:
        raise BadSignatureError(
            N_("Подпись запроса неверна: запрос изменён в пути или подписан чужим ключом")
        ) from exc
