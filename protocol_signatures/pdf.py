"""Offline check of a signed protocol against the centre's CA alone: what a post runs.

Shared by central and the node, so it imports neither Flask nor either app: only
pyHanko, cryptography and the replicated models. :func:`verify_protocol` needs nothing but the centre's CA
certificate: no network, no revocation lists. It never raises; every outcome, a broken
file included, is a :class:`VerificationResult` with a Russian ``summary`` for the screen.

There is no timestamp authority, so the signing time is the one the centre's clock
wrote into the signature. A consultant's certificate lasts a year and protocols are
reopened for years: when the certificate has expired since, the signature is checked
as of its signing time and the summary says so. That trusts the clock time written in
the signature, as desktop PDF readers do for signatures without a timestamp.
"""

from __future__ import annotations

import functools
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from domain.models import Appeal, Attachment, AttachmentKind
from sync.blobs import BlobStore
from sync.db import CENTRAL

__all__ = [
    "PADES_KEY_TYPES",
    "SignedProtocol",
    "VerificationResult",
    "asn1_certificate",
    "check_signed_protocol",
    "protocol_signature",
    "signed_at_text",
    "signed_protocol",
    "verify_protocol",
]

log = logging.getLogger(__name__)

# Either usage makes a certificate fit for signing documents; requiring nonRepudiation
# alone (pyHanko's default) would reject certificates from many other CAs.
_KEY_USAGE = KeyUsageConstraints(key_usage={"non_repudiation", "digital_signature"})
_EXPIRED = {
    AdESIndeterminate.EXPIRED,
    AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
    AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
}


def asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    """A ``cryptography`` certificate as the asn1crypto object pyHanko works with."""
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def signed_at_text(moment: datetime | None) -> str:
    """The signing time as the summary states it: in UTC, the same for every reader of a file."""
    return f"{moment.astimezone(UTC):%d.%m.%Y %H:%M} UTC" if moment else "время не указано"


@dataclass(frozen=True)
class VerificationResult:
    """What a post learns about a signed protocol; ``summary`` is for the screen."""

    valid: bool
    intact: bool
    trusted: bool
    signer_name: str | None
    serial: str | None
    signed_at: datetime | None
    covers_whole_document: bool
    summary: str

    def summary_shown(self, show: Callable[[datetime], str]) -> str:
        """The summary with its signing time as ``show`` writes it (a page: in the reader's zone)."""
        if self.signed_at is None:
            return self.summary
        return self.summary.replace(signed_at_text(self.signed_at), show(self.signed_at))


def _unreadable(summary: str) -> VerificationResult:
    return VerificationResult(
        valid=False,
        intact=False,
        trusted=False,
        signer_name=None,
        serial=None,
        signed_at=None,
        covers_whole_document=False,
        summary=summary,
    )


def _ca_name(ca: asn1_x509.Certificate) -> str:
    subject = ca.subject.native
    return str(subject.get("organization_name") or subject.get("common_name") or "")


def _holder(certificate: asn1_x509.Certificate) -> str | None:
    """The signer's full name: surname and given names, else the (possibly cut) CN."""
    subject = certificate.subject.native
    if subject.get("surname") and subject.get("given_name"):
        return f"{subject['surname']} {subject['given_name']}"
    return str(subject.get("common_name") or "") or None


def _status(
    signature: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate], moment: datetime | None
) -> PdfSignatureStatus:
    context = ValidationContext(trust_roots=roots, allow_fetching=False, moment=moment)
    return validate_pdf_signature(signature, signer_validation_context=context, key_usage_settings=_KEY_USAGE)


def _check_one(
    signature: EmbeddedPdfSignature, roots: list[asn1_x509.Certificate], at: datetime | None
) -> VerificationResult:
    status = _status(signature, roots, at)
    signed_at = status.signer_reported_dt
    expired_since = False
    if status.intact and status.valid and status.trust_problem_indic in _EXPIRED and signed_at is not None:
        as_signed = _status(signature, roots, signed_at)
        if as_signed.trusted:
            status, expired_since = as_signed, True
    intact = bool(status.intact and status.valid)
    certificate = status.signing_cert
    serial = f"{certificate.serial_number:X}"
    serial = serial.zfill(len(serial) + len(serial) % 2)
    signer_name = _holder(certificate)
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    when = signed_at_text(signed_at)
    who = f"{signer_name or 'владелец не указан'}, сертификат {serial}, подписано {when}"

    if not intact:
        summary = (
            "Документ изменён после подписания: подпись не соответствует содержимому. "
            "Запросите протокол в центре повторно."
        )
    elif not status.trusted:
        summary = f"{_trust_problem(status, roots[0])} ({who})."
    elif not status.bottom_line:
        summary = f"Документ изменён после подписания: в файл внесены недопустимые изменения ({who})."
    else:
        summary = f"Подпись действительна: {who}."
        if not whole:
            summary += " После подписания к файлу добавлены только служебные изменения."
        if expired_since:
            summary += (
                " Срок действия сертификата истёк после подписания; на момент подписи "
                "(по часам центра, без штампа времени) сертификат действовал."
            )
    return VerificationResult(
        valid=intact and status.bottom_line,
        intact=intact,
        trusted=status.trusted,
        signer_name=signer_name,
        serial=serial,
        signed_at=signed_at,
        covers_whole_document=whole,
        summary=summary,
    )


def _trust_problem(status: PdfSignatureStatus, ca: asn1_x509.Certificate) -> str:
    problem = status.trust_problem_indic
    if problem in _EXPIRED:
        return "Срок действия сертификата подписанта истёк"
    if problem == AdESIndeterminate.NOT_YET_VALID:
        return "Сертификат подписанта ещё не начал действовать"
    if status.revoked:
        return "Сертификат подписанта отозван"
    if status.validation_path is None or problem in (
        AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND,
        AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE,
    ):
        return f"Сертификат не выдан удостоверяющим центром «{_ca_name(ca)}»: подписи нельзя доверять"
    return "Сертификат подписанта не подходит для подписи документов"


#: The keys a PAdES signature may carry; a centre's bundle also holds GOST CAs, which
#: pyHanko does not read and which never issue a PAdES signer.
PADES_KEY_TYPES = ("1.2.840.113549.1.1.1", "1.2.840.10045.2.1")  # rsaEncryption, id-ecPublicKey


def _pades_roots(ca_cert_pem: bytes) -> list[asn1_x509.Certificate]:
    """The RSA and ECDSA CA certificates of the centre's bundle (``ValueError`` if unreadable)."""
    certificates = x509.load_pem_x509_certificates(ca_cert_pem)
    return [
        asn1_certificate(certificate)
        for certificate in certificates
        if certificate.public_key_algorithm_oid.dotted_string in PADES_KEY_TYPES
    ]


def verify_protocol(pdf: bytes, ca_cert_pem: bytes, *, at: datetime | None = None) -> VerificationResult:
    """Check every signature in ``pdf`` against the centre's CAs alone, offline, as of ``at``.

    ``ca_cert_pem`` is one certificate or the centre's bundle. The result describes the
    first signature that fails, else the latest one.
    """
    try:
        roots = _pades_roots(ca_cert_pem)
    except ValueError:
        roots = []
    if not roots:
        return _unreadable("Сертификат удостоверяющего центра повреждён: синхронизируйте ФАП с центром.")
    # pyHanko raises a zoo of error types on broken input; to the user they mean one of
    # two things: the file is broken, or the signature in it is.
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        reader.root["/Pages"]  # noqa: B018 — a file without a page tree fails here
    except Exception:
        log.info("unreadable PDF offered for verification", exc_info=True)
        return _unreadable("Файл повреждён или не является PDF: проверить подпись нельзя.")
    damaged = _unreadable("Подпись повреждена или имеет неподдерживаемый формат: проверить её нельзя.")
    try:
        signatures = list(reader.embedded_regular_signatures)
    except Exception:
        log.info("unreadable signature offered for verification", exc_info=True)
        return damaged
    if not signatures:
        return _unreadable("Документ не подписан.")
    result = damaged
    for signature in signatures:
        try:
            result = _check_one(signature, roots, at)
        except Exception:
            log.info("signature could not be validated", exc_info=True)
            return damaged
        if not result.valid:
            return result
    return result


# --- a closed appeal's signed protocol, as either side shows it --------------------------


@dataclass(frozen=True)
class SignedProtocol:
    """An appeal's latest signed protocol: its file record, whether the bytes are here, the check."""

    attachment: Attachment
    present: bool
    result: VerificationResult | None  # None until the bytes arrive
    #: The detached signature (.p7s) when the centre signs with GOST or an external program.
    signature: Attachment | None = None


def signed_protocol(appeal: Appeal) -> Attachment | None:
    """The latest signed PDF of the appeal's protocol, if any."""
    return (
        Attachment.live()
        .where(
            (Attachment.appeal == appeal.id)
            & (Attachment.kind == AttachmentKind.SIGNED_PROTOCOL)
            & (Attachment.origin == CENTRAL)  # central signs; a post's file of that kind is no protocol
        )
        .order_by(Attachment.created_at.desc())
        .first()
    )


def protocol_signature(appeal: Appeal, pdf: Attachment | None = None) -> Attachment | None:
    """The detached signature (.p7s) of the appeal's latest signed PDF, if the centre made one."""
    pdf = pdf or signed_protocol(appeal)
    if pdf is None:
        return None
    return (
        Attachment.live()
        .where(
            (Attachment.appeal == appeal.id)
            & (Attachment.kind == AttachmentKind.PROTOCOL_SIGNATURE)
            & (Attachment.origin == CENTRAL)
            & (Attachment.created_at >= pdf.created_at)  # made with that PDF, not an older one
        )
        .order_by(Attachment.created_at.desc())
        .first()
    )


def _centre_ca_pem(appeal: Appeal) -> str:
    """The CA certificate of the signing consultant's centre, as synced to this side."""
    protocol = appeal.current_protocol()
    consultant = protocol.consultant if protocol is not None else appeal.consultant
    if consultant is None:
        return ""
    return str(consultant.organization.ca_certificate or "")


@functools.lru_cache(maxsize=64)
def _verified(blobs: BlobStore, sha: str, ca_pem: str, day: date) -> VerificationResult:
    # Content-addressed: the same sha is the same bytes; the day keeps expiry current.
    # Read through the store: a post's files are sealed on disk.
    return verify_protocol(blobs.read(sha), ca_pem.encode("ascii", "replace"))


@functools.lru_cache(maxsize=64)
def _verified_detached(
    blobs: BlobStore, pdf_sha: str, signature_sha: str, ca_pem: str, day: date
) -> VerificationResult:
    from protocol_signatures.cms import split_pem_bundle, verify_detached  # it builds on this module

    return verify_detached(blobs.read(pdf_sha), blobs.read(signature_sha), split_pem_bundle(ca_pem))


def check_signed_protocol(appeal: Appeal, blobs: BlobStore) -> SignedProtocol | None:
    """The appeal's signed protocol checked offline against its centre's CAs; None if unsigned.

    A PDF with a detached signature beside it is checked by that signature (CMS, GOST
    or whatever the external program made); otherwise by the PAdES signature inside."""
    attachment = signed_protocol(appeal)
    if attachment is None:
        return None
    detached = protocol_signature(appeal, attachment)
    if not blobs.has(attachment.sha256) or (detached is not None and not blobs.has(detached.sha256)):
        return SignedProtocol(attachment, False, None, detached)
    ca_pem = _centre_ca_pem(appeal)
    if not ca_pem.strip():
        result = _unreadable(
            "Сертификат удостоверяющего центра ещё не получен: синхронизируйте ФАП с центром."
        )
    elif detached is not None:
        result = _verified_detached(
            blobs, attachment.sha256, detached.sha256, ca_pem, datetime.now(UTC).date()
        )
    else:
        result = _verified(blobs, attachment.sha256, ca_pem, datetime.now(UTC).date())
    return SignedProtocol(attachment, True, result, detached)
