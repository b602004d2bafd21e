"""Consultants' signing credentials at rest: one PKCS#12 per certificate, under their passphrase.

Kept in central's data directory, per staff member (``signers/<staff id>/<serial>.p12``),
and never replicated: a post needs the centre's CA certificate, not anyone's key.
Beside each container lies its certificate (``<serial>.crt``, PEM), so that
«Выберите подпись» can list who, which serial and until when without a passphrase.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .credentials import SignerCredential, issued_by, read_pkcs12
from .described import Described
from .errors import SigningError

__all__ = ["MIN_PASSPHRASE", "SignerStore", "StoredSigner"]

#: A stolen container is attacked offline: a short passphrase falls in minutes.
MIN_PASSPHRASE = 8
_SERIAL = re.compile(r"^[0-9A-F]{2,64}$")
_STAFF_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


@dataclass(frozen=True)
class StoredSigner(Described):
    """What «Выберите подпись» shows of a stored credential."""

    serial: str
    certificate: x509.Certificate
    trusted: bool  # issued by the centre's CA


def check_new_passphrase(passphrase: str, confirmation: str) -> None:
    """Refuse a passphrase that is too short or that the consultant mistyped."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise SigningError(f"Пароль подписи — не короче {MIN_PASSPHRASE} символов.")
    if passphrase != confirmation:
        raise SigningError("Пароли не совпадают: введите один и тот же пароль дважды.")


class SignerStore:
    """The credentials of every consultant of this central, one directory each."""

    def __init__(self, root: Path | str, trusted_issuers: Sequence[x509.Certificate]) -> None:
        self.root = Path(root)
        self.trusted_issuers = tuple(trusted_issuers)

    def _dir(self, staff_id: str) -> Path:
        if not _STAFF_ID.match(staff_id):
            raise SigningError("Неизвестный сотрудник.")
        return self.root / staff_id

    def signers(self, staff_id: str) -> list[StoredSigner]:
        """The consultant's credentials, the one valid longest first."""
        directory = self._dir(staff_id)
        found = []
        for path in sorted(directory.glob("*.crt")) if directory.is_dir() else []:
            try:
                certificate = x509.load_pem_x509_certificate(path.read_bytes())
            except ValueError:
                continue  # a damaged file is not offered; its .p12 stays for a repair
            trusted = any(issued_by(certificate, ca) for ca in self.trusted_issuers)
            found.append(StoredSigner(path.stem, certificate, trusted))
        return sorted(found, key=lambda s: s.not_after, reverse=True)

    def save(self, staff_id: str, credential: SignerCredential, passphrase: str) -> StoredSigner:
        """Store the credential encrypted with ``passphrase``; the same certificate replaces itself."""
        container = credential.to_pkcs12(passphrase)
        directory = self._dir(staff_id)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        serial = credential.serial_hex
        _write(directory / f"{serial}.p12", container, 0o600)
        _write(
            directory / f"{serial}.crt",
            credential.certificate.public_bytes(serialization.Encoding.PEM),
            0o644,
        )
        return StoredSigner(serial, credential.certificate, credential.trusted)

    def unlock(self, staff_id: str, serial: str, passphrase: str) -> SignerCredential:
        """Open one of the consultant's credentials with their passphrase."""
        serial = (serial or "").strip().upper()
        path = self._dir(staff_id) / f"{serial}.p12"
        if not _SERIAL.match(serial) or not path.is_file():
            raise SigningError("Выберите подпись из списка.")
        return read_pkcs12(path.read_bytes(), passphrase, trusted_issuers=self.trusted_issuers)


def _write(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
