"""The centre's own certification authority (удостоверяющий центр) for consultants' keys.

Created on the first run in the central's data directory (``ca.key``, mode 0600, and
``ca.crt``, PEM) and loaded from there afterwards. Posts receive ``ca.crt`` and check
every signed protocol against it alone, offline.

Keys are RSA-3072 with SHA-256: every PDF reader, NSS (poppler's ``pdfsig``, Firefox)
and Windows CryptoAPI verify RSA, while ECDSA support in older desktop PDF readers is
patchy, and key generation stays well under a second on a modest server.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .credentials import SignerCredential, SigningKey, issued_by, read_pkcs12
from .errors import SigningError

__all__ = ["CentreCA", "DOCUMENT_SIGNING"]

KEY_FILE = "ca.key"
CERT_FILE = "ca.crt"
_LOCK_FILE = ".ca.lock"
_KEY_BITS = 3072
_CA_VALID_DAYS = 3650
# Clocks at the centre and on a signer's machine drift: backdate a new certificate a
# little so that it is already valid wherever it is first used.
_BACKDATE = timedelta(minutes=10)
# RFC 5280 upper bound for CN and O; longer values break some verifiers.
_NAME_LIMIT = 64
# id-kp-documentSigning (RFC 9336); NSS checks email signers against emailProtection,
# so both purposes go into a signer's certificate.
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")


def _fit(value: str, limit: int = _NAME_LIMIT) -> str:
    """Collapse whitespace and cut to ``limit`` characters, marking the cut."""
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _fit_utf8(value: str, limit: int = _NAME_LIMIT) -> str:
    """Cut to ``limit`` UTF-8 bytes: cryptography enforces the CN bound in bytes, and a
    Cyrillic letter takes two."""
    value = " ".join(value.split())
    if len(value.encode("utf-8")) <= limit:
        return value
    while len((value + "…").encode("utf-8")) > limit:
        value = value[:-1]
    return value.rstrip() + "…"


def _ca_common_name(centre_name: str) -> str:
    full = f"{centre_name} — удостоверяющий центр faplink"
    if len(full.encode("utf-8")) <= _NAME_LIMIT:
        return full
    suffix = " — УЦ faplink"
    return _fit_utf8(centre_name, _NAME_LIMIT - len(suffix.encode("utf-8"))) + suffix


def _person(full_name: str) -> list[x509.NameAttribute]:
    """CN, plus surname (SN) and given names (G) as Russian signing certificates carry
    them; these keep a long name whole when the CN has to be cut."""
    common = _fit_utf8(full_name)
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    surname, _, given = full_name.partition(" ")
    if given:
        attributes += [
            x509.NameAttribute(NameOID.SURNAME, _fit(surname)),
            x509.NameAttribute(NameOID.GIVEN_NAME, _fit(given)),
        ]
    return attributes


def _key_usage(*, signing: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=signing,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signing,
        crl_sign=not signing,
        encipher_only=False,
        decipher_only=False,
    )


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock so that two central instances never create two CAs."""
    with open(directory / _LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


@dataclass(frozen=True)
class CentreCA:
    """The centre's CA: its certificate for posts, its key for issuing consultants' certificates."""

    directory: Path
    certificate: x509.Certificate
    _key: SigningKey = field(repr=False)

    @classmethod
    def open(cls, directory: Path | str, centre_name: str) -> CentreCA:
        """Load the CA kept in ``directory``, creating it there on the first run."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with _locked(directory):
            if not (directory / CERT_FILE).exists():
                return cls._create(directory, centre_name)
            return cls._load(directory)

    @classmethod
    def _create(cls, directory: Path, centre_name: str) -> CentreCA:
        if not centre_name.strip():
            raise SigningError("Укажите название центра: оно входит в сертификат УЦ.")
        key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "RU"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, _fit(centre_name)),
                x509.NameAttribute(NameOID.COMMON_NAME, _ca_common_name(centre_name)),
            ]
        )
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + timedelta(days=_CA_VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(signing=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Key first: a crash between the two writes leaves no ca.crt, so the next start
        # creates the CA afresh instead of loading half of one.
        _write_atomically(directory / KEY_FILE, key_pem, 0o600)
        _write_atomically(directory / CERT_FILE, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
        return cls(directory, certificate, key)

    @classmethod
    def _load(cls, directory: Path) -> CentreCA:
        try:
            certificate = x509.load_pem_x509_certificate((directory / CERT_FILE).read_bytes())
        except ValueError as error:
            raise SigningError(
                f"Сертификат УЦ {directory / CERT_FILE} повреждён: восстановите его из копии."
            ) from error
        try:
            key = serialization.load_pem_private_key((directory / KEY_FILE).read_bytes(), password=None)
        except FileNotFoundError as error:
            raise SigningError(
                f"Нет ключа УЦ {directory / KEY_FILE} при существующем сертификате: "
                "восстановите ключ из копии; новый УЦ не создан, чтобы ФАП продолжали "
                "доверять выданным подписям."
            ) from error
        except ValueError as error:
            raise SigningError(
                f"Ключ УЦ {directory / KEY_FILE} повреждён: восстановите его из копии."
            ) from error
        if not isinstance(key, rsa.RSAPrivateKey) or key.public_key() != certificate.public_key():
            raise SigningError(f"Ключ УЦ {directory / KEY_FILE} не соответствует сертификату {CERT_FILE}.")
        return cls(directory, certificate, key)

    @property
    def name(self) -> str:
        """The CA's common name, as posts see it."""
        values = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(values[0].value) if values else self.certificate.subject.rfc4514_string()

    @property
    def certificate_pem(self) -> bytes:
        """The certificate posts trust, PEM-encoded (the contents of ``ca.crt``)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue_signer(
        self, full_name: str, organization: str, email: str | None, valid_days: int = 365
    ) -> SignerCredential:
        """Create a key pair and a signing certificate for a consultant.

        The credential lives in memory; store it with :meth:`SignerCredential.to_pkcs12`
        under the consultant's passphrase. The certificate never outlives the CA.
        """
        full_name = " ".join(full_name.split())
        if not full_name:
            raise SigningError("Укажите ФИО владельца сертификата.")
        if valid_days < 1:
            raise SigningError("Срок действия сертификата — не меньше одного дня.")
        attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "RU")]
        if organization.strip():
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, _fit(organization)))
        attributes += _person(full_name)
        now = datetime.now(UTC)
        if now >= self.certificate.not_valid_after_utc:
            raise SigningError(
                f"Срок действия сертификата УЦ «{self.name}» истёк: выпустите новый УЦ "
                "и разошлите его сертификат на ФАП."
            )
        key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
        not_after = min(now + timedelta(days=valid_days), self.certificate.not_valid_after_utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(signing=True), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING]),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if email:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.RFC822Name(_checked_email(email))]),
                critical=False,
            )
        certificate = builder.sign(self._key, hashes.SHA256())
        return SignerCredential(certificate=certificate, private_key=key, chain=(self.certificate,))

    def issued(self, certificate: x509.Certificate) -> bool:
        """Whether this CA issued ``certificate``."""
        return issued_by(certificate, self.certificate)

    def import_pkcs12(self, data: bytes, passphrase: str) -> SignerCredential:
        """Open a consultant's PKCS#12 container; one from another CA is accepted but flagged."""
        return read_pkcs12(data, passphrase, trusted_issuers=[self.certificate])


def _checked_email(email: str) -> str:
    email = email.strip()
    local, _, domain = email.partition("@")
    if not local or not domain or not email.isascii() or " " in email:
        raise SigningError(
            f"Адрес электронной почты «{email}» не подходит для сертификата: "
            "нужен адрес латиницей вида name@example.ru."
        )
    return email
