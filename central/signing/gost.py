"""GOST R 34.10-2012 signatures: the centre's GOST test CA, consultants' keys, detached CAdES-BES.

Everything cryptographic is done by ``openssl`` with Debian's GOST engine
(``libengine-gost-openssl``, :mod:`protocol_signatures.openssl`): keys GOST R 34.10-2012 with
256-bit (OID 1.2.643.7.1.1.1.1, parameter set TC26 A) or 512-bit keys, digests
GOST R 34.11-2012 (Streebog). The CA lives beside the RSA one, in ``ca-gost/``
(``ca.key`` 0600, ``ca.crt``). It is a *test* CA, for the demo and for a centre
without a certified one; a centre with keys from an accredited CA signs through
:mod:`central.signing.external` instead.

A consultant's key is kept as an encrypted PKCS#8 PEM (PBES2, AES-256) under their
passphrase, in ``signers-gost/<staff id>/<serial>.key``, its certificate beside it.
The passphrase reaches ``openssl`` in its environment, never on its command line.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from protocol_signatures.openssl import OpenSSLError, run_openssl

from .ca import _fit, _fit_utf8, _locked, _person, _write_atomically
from .described import Described
from .errors import SigningError
from .store import MIN_PASSPHRASE

__all__ = ["GOST_256", "GOST_512", "GostCA", "GostSigner", "GostSignerStore", "is_gost", "sign_detached"]

GOST_256 = "1.2.643.7.1.1.1.1"
GOST_512 = "1.2.643.7.1.1.1.2"
_ALGORITHMS = {256: ("gost2012_256", "TCA", "md_gost12_256"), 512: ("gost2012_512", "A", "md_gost12_512")}
_CA_VALID_DAYS = 3650
_SERIAL = re.compile(r"^[0-9A-F]{2,64}$")
_STAFF_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_PASS = "FAPLINK_KEY_PASSPHRASE"
# RFC 9336 id-kp-documentSigning, as in the RSA signer's certificate.
_EXTENSIONS = (
    "basicConstraints=critical,CA:FALSE\n"
    "keyUsage=critical,digitalSignature,nonRepudiation\n"
    "extendedKeyUsage=emailProtection,1.3.6.1.5.5.7.3.36\n"
    "subjectKeyIdentifier=hash\n"
    "authorityKeyIdentifier=keyid\n"
)


def is_gost(certificate: x509.Certificate) -> bool:
    """Whether the certificate holds a GOST R 34.10-2012 key."""
    return certificate.public_key_algorithm_oid.dotted_string in (GOST_256, GOST_512)


def _bits(certificate: x509.Certificate) -> int:
    return 512 if certificate.public_key_algorithm_oid.dotted_string == GOST_512 else 256


def _subject(attributes: list[tuple[str, str]]) -> str:
    """An ``openssl -subj`` string; ``/`` and ``\\`` in values escaped."""

    def escaped(value: str) -> str:
        return value.replace("\\", "\\\\").replace("/", "\\/")

    return "".join(f"/{key}={escaped(value)}" for key, value in attributes)


def _person_subject(full_name: str, organization: str) -> str:
    attributes = [("C", "RU")]
    if organization.strip():
        attributes.append(("O", _fit(organization)))
    short = {NameOID.COMMON_NAME: "CN", NameOID.SURNAME: "SN", NameOID.GIVEN_NAME: "GN"}
    attributes += [(short[a.oid], str(a.value)) for a in _person(full_name)]
    return _subject(attributes)


def _openssl(args: list[str], workdir: Path, passphrase: str | None = None) -> bytes:
    try:
        return run_openssl(args, workdir, secrets={_PASS: passphrase} if passphrase else None).stdout
    except OpenSSLError as error:
        if passphrase and ("bad decrypt" in error.stderr or "maybe wrong password" in error.stderr):
            raise SigningError("Неверный пароль подписи: проверьте раскладку и Caps Lock.") from error
        if "gost" in str(error).lower():
            raise SigningError(str(error)) from error
        raise SigningError(
            "Не удалось выполнить операцию с ключом ГОСТ: OpenSSL сообщил об ошибке "
            f"({error.stderr.strip().splitlines()[-1] if error.stderr.strip() else error})."
        ) from error


@dataclass(frozen=True)
class GostCA:
    """The centre's GOST test CA: its certificate for the posts, its key for consultants' certificates."""

    directory: Path
    certificate: x509.Certificate

    KEY_FILE = "ca.key"
    CERT_FILE = "ca.crt"

    @classmethod
    def open(cls, directory: Path | str, centre_name: str, bits: int = 256) -> GostCA:
        """Load the GOST CA kept in ``directory``, creating it there on the first run."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with _locked(directory):
            if not (directory / cls.CERT_FILE).exists():
                cls._create(directory, centre_name, bits)
            if not (directory / cls.KEY_FILE).exists():
                raise SigningError(
                    f"Нет ключа УЦ ГОСТ {directory / cls.KEY_FILE} при существующем сертификате: "
                    "восстановите ключ из копии."
                )
            try:
                certificate = x509.load_pem_x509_certificate((directory / cls.CERT_FILE).read_bytes())
            except ValueError as error:
                raise SigningError(f"Сертификат УЦ ГОСТ {directory / cls.CERT_FILE} повреждён.") from error
        return cls(directory, certificate)

    @classmethod
    def exists(cls, directory: Path | str) -> bool:
        return (Path(directory) / cls.CERT_FILE).is_file()

    @staticmethod
    def _create(directory: Path, centre_name: str, bits: int) -> None:
        if not centre_name.strip():
            raise SigningError("Укажите название центра: оно входит в сертификат УЦ.")
        algorithm, paramset, digest = _ALGORITHMS[bits]
        suffix = " — УЦ ГОСТ faplink"
        common = _fit_utf8(centre_name, 64 - len(suffix.encode("utf-8"))) + suffix
        subject = _subject([("C", "RU"), ("O", _fit(centre_name)), ("CN", common)])
        with tempfile.TemporaryDirectory(prefix="faplink-gost-ca-") as temporary:
            work = Path(temporary)
            key = _openssl(["genpkey", "-algorithm", algorithm, "-pkeyopt", f"paramset:{paramset}"], work)
            (work / "ca.key").write_bytes(key)
            certificate = _openssl(
                [
                    "req", "-new", "-x509", "-utf8", "-key", "ca.key", f"-{digest}",
                    "-days", str(_CA_VALID_DAYS), "-subj", subject,
                    "-set_serial", f"0x{secrets.token_hex(16)}",
                    "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                ],
                work,
            )  # fmt: skip
        # Key first, as for the RSA CA: a crash in between leaves no certificate to half-load.
        _write_atomically(directory / GostCA.KEY_FILE, key, 0o600)
        _write_atomically(directory / GostCA.CERT_FILE, certificate, 0o644)

    @property
    def certificate_pem(self) -> bytes:
        return (self.directory / self.CERT_FILE).read_bytes()

    @property
    def name(self) -> str:
        values = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(values[0].value) if values else self.certificate.subject.rfc4514_string()

    def issue_signer(
        self, full_name: str, organization: str, passphrase: str, *, bits: int = 256, valid_days: int = 365
    ) -> tuple[bytes, bytes]:
        """A consultant's key (encrypted PEM under ``passphrase``) and certificate (PEM)."""
        full_name = " ".join(full_name.split())
        if not full_name:
            raise SigningError("Укажите ФИО владельца сертификата.")
        if len(passphrase) < MIN_PASSPHRASE:
            raise SigningError(f"Пароль подписи — не короче {MIN_PASSPHRASE} символов.")
        now = datetime.now(UTC)
        if now >= self.certificate.not_valid_after_utc:
            raise SigningError(f"Срок действия сертификата УЦ «{self.name}» истёк: выпустите новый УЦ ГОСТ.")
        days = max(1, min(valid_days, (self.certificate.not_valid_after_utc - now).days))
        algorithm, paramset, _digest = _ALGORITHMS[bits]
        digest = _ALGORITHMS[_bits(self.certificate)][2]  # the CA's key signs, with its own digest
        with tempfile.TemporaryDirectory(prefix="faplink-gost-") as temporary:
            work = Path(temporary)
            key = _openssl(
                [
                    "genpkey", "-algorithm", algorithm, "-pkeyopt", f"paramset:{paramset}",
                    "-aes-256-cbc", "-pass", f"env:{_PASS}",
                ],
                work,
                passphrase,
            )  # fmt: skip
            (work / "signer.key").write_bytes(key)
            (work / "ext.cnf").write_text(_EXTENSIONS, encoding="ascii")
            (work / "ca.crt").write_bytes(self.certificate_pem)
            (work / "ca.key").write_bytes((self.directory / self.KEY_FILE).read_bytes())
            _openssl(
                [
                    "req", "-new", "-utf8", "-key", "signer.key", "-passin", f"env:{_PASS}",
                    "-subj", _person_subject(full_name, organization), "-out", "signer.csr",
                ],
                work,
                passphrase,
            )  # fmt: skip
            certificate = _openssl(
                [
                    "x509", "-req", "-in", "signer.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                    "-set_serial", f"0x{secrets.token_hex(16)}", "-days", str(days), f"-{digest}",
                    "-extfile", "ext.cnf",
                ],
                work,
            )  # fmt: skip
        return key, certificate


@dataclass(frozen=True)
class GostSigner(Described):
    """A consultant's stored GOST key: what «Выберите подпись» shows, and where the key is."""

    serial: str
    certificate: x509.Certificate
    key_path: Path
    trusted: bool  # issued by this centre's GOST CA


class GostSignerStore:
    """Consultants' GOST keys, one directory each, every key under its owner's passphrase."""

    def __init__(self, root: Path | str, ca: GostCA | None) -> None:
        self.root = Path(root)
        self.ca = ca

    def _dir(self, staff_id: str) -> Path:
        if not _STAFF_ID.match(staff_id):
            raise SigningError("Неизвестный сотрудник.")
        return self.root / staff_id

    def _trusted(self, certificate: x509.Certificate) -> bool:
        # The name is what we can compare here; the signature on the certificate is
        # checked by openssl at the post against the CA certificate itself.
        return self.ca is not None and certificate.issuer == self.ca.certificate.subject

    def signers(self, staff_id: str) -> list[GostSigner]:
        """The consultant's GOST keys, the one valid longest first."""
        directory = self._dir(staff_id)
        found = []
        for path in sorted(directory.glob("*.crt")) if directory.is_dir() else []:
            try:
                certificate = x509.load_pem_x509_certificate(path.read_bytes())
            except ValueError:
                continue
            key_path = path.with_suffix(".key")
            if key_path.is_file() and is_gost(certificate):
                found.append(GostSigner(path.stem, certificate, key_path, self._trusted(certificate)))
        return sorted(found, key=lambda s: s.not_after, reverse=True)

    def create(
        self, staff_id: str, full_name: str, organization: str, passphrase: str, *, bits: int = 256
    ) -> GostSigner:
        """«Создать подпись»: a key from the centre's GOST CA, stored under the passphrase."""
        if self.ca is None:
            raise SigningError(
                "УЦ ГОСТ центра не создан: администратор выбирает подпись ГОСТ в «Электронной подписи»."
            )
        key, certificate_pem = self.ca.issue_signer(full_name, organization, passphrase, bits=bits)
        certificate = x509.load_pem_x509_certificate(certificate_pem)
        serial = _serial_hex(certificate.serial_number)
        directory = self._dir(staff_id)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_atomically(directory / f"{serial}.key", key, 0o600)
        _write_atomically(directory / f"{serial}.crt", certificate_pem, 0o644)
        return GostSigner(serial, certificate, directory / f"{serial}.key", self._trusted(certificate))

    def find(self, staff_id: str, serial: str) -> GostSigner:
        serial = (serial or "").strip().upper()
        chosen = next((s for s in self.signers(staff_id) if s.serial == serial), None)
        if not _SERIAL.match(serial) or chosen is None:
            raise SigningError("Выберите подпись из списка.")
        return chosen


def _serial_hex(number: int) -> str:
    digits = f"{number:X}"
    return digits.zfill(len(digits) + len(digits) % 2)


def check_usable(certificate: x509.Certificate, at: datetime | None = None) -> None:
    """Raise :class:`SigningError` unless the certificate is within its validity."""
    moment = at or datetime.now(UTC)
    serial = _serial_hex(certificate.serial_number)
    if moment < certificate.not_valid_before_utc:
        raise SigningError(
            f"Сертификат {serial} начинает действовать только с "
            f"{certificate.not_valid_before_utc:%d.%m.%Y}: подписать документ им пока нельзя."
        )
    if moment > certificate.not_valid_after_utc:
        raise SigningError(
            f"Срок действия сертификата {serial} истёк {certificate.not_valid_after_utc:%d.%m.%Y}: "
            "получите новый сертификат в удостоверяющем центре."
        )


def sign_detached(document: bytes, signer: GostSigner, passphrase: str) -> bytes:
    """A detached CAdES-BES signature (DER) of ``document`` with the signer's GOST key."""
    if not passphrase:
        raise SigningError("Введите пароль подписи.")
    check_usable(signer.certificate)
    digest = _ALGORITHMS[_bits(signer.certificate)][2]
    with tempfile.TemporaryDirectory(prefix="faplink-gost-") as temporary:
        work = Path(temporary)
        (work / "document.pdf").write_bytes(document)
        (work / "signer.crt").write_bytes(signer.key_path.with_suffix(".crt").read_bytes())
        (work / "signer.key").write_bytes(signer.key_path.read_bytes())
        return _openssl(
            [
                "cms", "-sign", "-binary", "-in", "document.pdf", "-signer", "signer.crt",
                "-inkey", "signer.key", "-passin", f"env:{_PASS}", "-md", digest,
                "-cades", "-nosmimecap", "-outform", "DER",
            ],
            work,
            passphrase,
        )  # fmt: skip
