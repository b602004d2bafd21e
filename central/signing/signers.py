"""The signer a centre chose: one interface, three ways to sign a protocol.

* :class:`PadesSigner` — a PAdES signature inside the PDF, RSA/ECDSA keys from the
  centre's CA or imported as PKCS#12 (what faplink always did);
* :class:`GostSigner` — the stamped PDF plus a detached CAdES-BES ``.p7s`` made by
  OpenSSL's GOST engine, keys from the centre's GOST test CA;
* :class:`ExternalSigner` — the stamped PDF plus a ``.p7s`` made by the program the
  administrator configured (КриптоПро's ``cryptcp``), keys faplink never holds.

Each takes plain arguments (the consultant's id and name, a chosen key, a passphrase)
and returns :class:`SignedFiles`; the route stores them. Every failure is a
:class:`SigningError` with a Russian message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from cryptography import x509

from protocol_signatures.cms import matches_content, read_signature

from .ca import CentreCA
from .errors import SigningError
from .external import ExternalCertificateStore, ExternalCommand
from .gost import GostCA, GostSignerStore, check_usable, sign_detached
from .pades import sign_protocol
from .store import SignerStore, check_new_passphrase
from .visible import stamp_pdf

__all__ = ["ExternalSigner", "GostSigner", "PadesSigner", "ProtocolSigner", "SignedFiles", "SignerChoice"]


class SignerChoice(Protocol):
    """One line of «Выберите подпись»."""

    @property
    def serial(self) -> str: ...
    @property
    def holder(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    @property
    def not_before(self) -> datetime: ...
    @property
    def not_after(self) -> datetime: ...
    @property
    def trusted(self) -> bool: ...


@dataclass(frozen=True)
class SignedFiles:
    """What signing leaves: the PDF to send, and the detached signature if the signer makes one."""

    pdf: bytes
    signature: bytes | None = None


class ProtocolSigner(Protocol):
    """How the consultants of one centre sign protocols."""

    @property
    def kind(self) -> str:
        """``pades``, ``gost`` or ``external``."""
        ...

    @property
    def can_create(self) -> bool:
        """Whether «Создать подпись» makes a key here."""
        ...

    @property
    def can_import(self) -> bool:
        """Whether «Импортировать подпись» takes a PKCS#12."""
        ...

    def choices(self, staff_id: str) -> Sequence[SignerChoice]:
        """The consultant's keys or certificates to choose from."""
        ...

    def choice_id(self, choice: SignerChoice) -> str:
        """The value the form sends back for ``choice``."""
        ...

    def sign(
        self, pdf: bytes, *, staff_id: str, signer_name: str, location: str, choice: str, passphrase: str
    ) -> SignedFiles:
        """Sign the protocol PDF with the chosen key."""
        ...


@dataclass(frozen=True)
class PadesSigner:
    """PAdES inside the PDF, as before the choice existed."""

    ca: CentreCA
    store: SignerStore
    kind: str = "pades"
    can_create: bool = True
    can_import: bool = True

    def choices(self, staff_id: str) -> Sequence[SignerChoice]:
        return self.store.signers(staff_id)

    def choice_id(self, choice: SignerChoice) -> str:
        return choice.serial

    def create(
        self, staff_id: str, full_name: str, organization: str, passphrase: str, again: str
    ) -> SignerChoice:
        check_new_passphrase(passphrase, again)
        credential = self.ca.issue_signer(full_name, organization, None)
        return self.store.save(staff_id, credential, passphrase)

    def sign(
        self, pdf: bytes, *, staff_id: str, signer_name: str, location: str, choice: str, passphrase: str
    ) -> SignedFiles:
        credential = self.store.unlock(staff_id, choice, passphrase)
        signed = sign_protocol(
            pdf, credential, signer_name=signer_name, location=location, ca_chain=[self.ca.certificate]
        )
        return SignedFiles(signed)


@dataclass(frozen=True)
class GostSigner:
    """GOST R 34.10-2012 keys kept at central under the consultant's passphrase."""

    store: GostSignerStore
    bits: int = 256
    kind: str = "gost"
    can_create: bool = True
    can_import: bool = False

    def choices(self, staff_id: str) -> Sequence[SignerChoice]:
        return self.store.signers(staff_id)

    def choice_id(self, choice: SignerChoice) -> str:
        return choice.serial

    def create(
        self, staff_id: str, full_name: str, organization: str, passphrase: str, again: str
    ) -> SignerChoice:
        check_new_passphrase(passphrase, again)
        return self.store.create(staff_id, full_name, organization, passphrase, bits=self.bits)

    def sign(
        self, pdf: bytes, *, staff_id: str, signer_name: str, location: str, choice: str, passphrase: str
    ) -> SignedFiles:
        signer = self.store.find(staff_id, choice)
        if not passphrase:
            raise SigningError("Введите пароль подписи.")
        check_usable(signer.certificate)
        stamped = stamp_pdf(pdf, signer.certificate, signer_name)
        return SignedFiles(stamped, sign_detached(stamped, signer, passphrase))


@dataclass(frozen=True)
class ExternalSigner:
    """A program outside faplink signs; the consultant registered their certificate for the stamp."""

    command: ExternalCommand
    certificates: ExternalCertificateStore
    kind: str = "external"
    can_create: bool = False
    can_import: bool = False

    def choices(self, staff_id: str) -> Sequence[SignerChoice]:
        return self.certificates.certificates(staff_id)

    def choice_id(self, choice: SignerChoice) -> str:
        return str(getattr(choice, "thumbprint", choice.serial))

    def sign(
        self, pdf: bytes, *, staff_id: str, signer_name: str, location: str, choice: str, passphrase: str
    ) -> SignedFiles:
        entry = self.certificates.find(staff_id, choice)
        check_usable(entry.certificate)
        stamped = stamp_pdf(pdf, entry.certificate, signer_name)
        signature = self.command.sign(stamped, thumbprint=entry.thumbprint, pin=passphrase)
        _check_signed_by(signature, entry.certificate)
        if matches_content(stamped, signature) is False:
            raise SigningError(
                "Программа подписи вернула подпись, которая не сходится с протоколом: протокол не подписан. "
                "Проверьте ключи команды (нужна отсоединённая подпись файла {input})."
            )
        return SignedFiles(stamped, signature)


def _check_signed_by(signature: bytes, certificate: x509.Certificate) -> None:
    """Refuse a signature the program made with another certificate than the one chosen."""
    facts = read_signature(signature)
    if facts.certificate is not None and facts.certificate.serial_number != certificate.serial_number:
        raise SigningError(
            "Программа подписи подписала другим сертификатом, чем выбран: проверьте отпечаток сертификата."
        )


def gost_store(data_dir: Path, ca: GostCA | None) -> GostSignerStore:
    return GostSignerStore(data_dir / "signers-gost", ca)
