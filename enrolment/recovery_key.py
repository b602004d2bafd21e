"""Central's recovery key: the X25519 key every post's keyring wraps a copy of its data key to.

Central keeps it (``recovery.key`` in its data directory, 0600) and gives its public half
to each post at enrolment; provisioning's `recover-key` opens a post's keyring with it.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from .errors import N_, EnrolmentError
from .keyfile import kept_private_key

__all__ = ["RECOVERY_KEY_FILE", "centre_recovery_key", "recovery_public_hex"]

RECOVERY_KEY_FILE = "recovery.key"


def centre_recovery_key(central_data_dir: Path) -> X25519PrivateKey:
    """Central's recovery key, made on first use and kept (0600) in its data directory."""
    key = kept_private_key(Path(central_data_dir) / RECOVERY_KEY_FILE, X25519PrivateKey.generate)
    if not isinstance(key, X25519PrivateKey):
        raise EnrolmentError(
            N_("Ключ восстановления центра повреждён: %(path)s"),
            path=str(Path(central_data_dir) / RECOVERY_KEY_FILE),
        )
    return key


def recovery_public_hex(central_data_dir: Path) -> str:
    public = centre_recovery_key(central_data_dir).public_key()
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
