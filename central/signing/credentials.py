"""A consultant's signing credential: private key, certificate, and whether the centre vouches.

A credential travels as PKCS#12 bytes protected by the consultant's passphrase; the
centre stores those bytes, never the bare key. :func:`read_pkcs12` is the only way
back in, and it refuses anything that could not sign a protocol today, with a message
the consultant can act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from .errors import SigningError

__all__ = ["SignerCredential", "SigningKey", "issued_by", "read_pkcs12"]

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

# PBKDF2 rounds for the PKCS#12 container: slow enough to resist guessing a leaked
# file's passphrase, fast enough (~0.1 s) not to be felt when a consultant signs.
_PKCS12_KDF_ROUNDS = 200_000


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


def _date(moment: datetime) -> str:
    return f"{moment:%d.%m.%Y}"


def issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` signed ``certificate`` (names match and the signature verifies)."""
    if certificate.issuer != issuer.subject:
        return False
    try:
        certificate.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class SignerCredential:
    """A signing key with its certificate; ``trusted`` says whether the centre's CA issued it."""

    certificate: x509.Certificate
    private_key: SigningKey
    chain: tuple[x509.Certificate, ...] = ()
    trusted: bool = True
    # Why the credential is not trusted, in Russian, for the consultant's screen.
    trust_note: str = ""

    @property
    def serial_hex(self) -> str:
        """The certificate's serial number as upper-case hex, an even number of digits."""
        digits = f"{self.certificate.serial_number:X}"
        return digits.zfill(len(digits) + len(digits) % 2)

    @property
    def common_name(self) -> str:
        return _attribute(self.certificate.subject, NameOID.COMMON_NAME) or ""

    @property
    def organization(self) -> str | None:
        return _attribute(self.certificate.subject, NameOID.ORGANIZATION_NAME)

    @property
    def not_before(self) -> datetime:
        return self.certificate.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc

    def check_usable(self, at: datetime | None = None) -> None:
        """Raise :class:`SigningError` unless the certificate is within its validity at ``at``."""
        moment = at or datetime.now(UTC)
        if moment < self.not_before:
            raise SigningError(
                f"Сертификат {self.serial_hex} начинает действовать только с "
                f"{_date(self.not_before)}: подписать документ им пока нельзя."
            )
        if moment > self.not_after:
            raise SigningError(
                f"Срок действия сертификата {self.serial_hex} истёк {_date(self.not_after)}: "
                "получите новый сертификат в удостоверяющем центре."
            )

    def to_pkcs12(self, passphrase: str) -> bytes:
        """Key, certificate and chain as PKCS#12 bytes, encrypted with ``passphrase``."""
        if not passphrase:
            raise SigningError("Задайте пароль для контейнера ключа: без пароля ключ подписи хранить нельзя.")
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(_PKCS12_KDF_ROUNDS)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
            .build(passphrase.encode("utf-8"))
        )
        return pkcs12.serialize_key_and_certificates(
            name=self.common_name.encode("utf-8") or None,
            key=self.private_key,
            cert=self.certificate,
            cas=list(self.chain) or None,
            encryption_algorithm=encryption,
        )


def _looks_like_pkcs12(data: bytes) -> bool:
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        return pfx["auth_safe"]["content_type"].native in ("data", "signed_data")
    except (ValueError, TypeError, KeyError):
        return False


def _unlock(data: bytes, passphrase: str) -> pkcs12.PKCS12KeyAndCertificates:
    if not _looks_like_pkcs12(data):
        raise SigningError(
            "Файл не является контейнером PKCS#12 (.p12, .pfx): выберите файл сертификата с закрытым ключом."
        )
    # A container saved "without a password" may use an empty one or none at all.
    candidates: list[bytes | None] = [passphrase.encode("utf-8")]
    if not passphrase:
        candidates.append(None)
    for candidate in candidates:
        try:
            return pkcs12.load_pkcs12(data, candidate)
        except UnsupportedAlgorithm as error:
            raise SigningError(
                "Контейнер защищён или содержит ключ неподдерживаемого алгоритма "
                "(например, ГОСТ): нужен сертификат с ключом RSA или ECDSA."
            ) from error
        except ValueError:
            continue
    raise SigningError("Неверный пароль контейнера ключа: проверьте раскладку и Caps Lock.")


def read_pkcs12(
    data: bytes, passphrase: str, *, trusted_issuers: Sequence[x509.Certificate]
) -> SignerCredential:
    """Open a PKCS#12 container; the credential is ``trusted`` if one of ``trusted_issuers``
    issued it, and flagged otherwise."""
    bundle = _unlock(data, passphrase)
    if bundle.key is None:
        raise SigningError("В контейнере нет закрытого ключа: экспортируйте сертификат вместе с ключом.")
    if bundle.cert is None:
        raise SigningError("В контейнере нет сертификата владельца ключа.")
    key = bundle.key
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SigningError(
            "Ключ в контейнере не RSA и не ECDSA: такой ключ для подписи PDF не поддерживается."
        )
    certificate = bundle.cert.certificate
    if _public_der(key.public_key()) != _public_der(certificate.public_key()):
        raise SigningError("Закрытый ключ в контейнере не соответствует сертификату.")
    _check_key_usage(certificate)
    chain = tuple(extra.certificate for extra in bundle.additional_certs)
    issuer = next((ca for ca in trusted_issuers if issued_by(certificate, ca)), None)
    note = ""
    if issuer is None:
        issuer_name = certificate.issuer.rfc4514_string()
        note = (
            f"Сертификат выдан «{issuer_name}», а не удостоверяющим центром faplink: "
            "на ФАП такая подпись будет показана как недоверенная."
        )
    credential = SignerCredential(
        certificate=certificate,
        private_key=key,
        chain=chain,
        trusted=issuer is not None,
        trust_note=note,
    )
    credential.check_usable()
    return credential


def _public_der(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _check_key_usage(certificate: x509.Certificate) -> None:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise SigningError(
            "Сертификат не предназначен для электронной подписи документов "
            "(нет назначения «цифровая подпись» или «неотрекаемость»)."
        )
