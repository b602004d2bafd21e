"""Offline check of a detached CMS signature (a protocol's ``.p7s``) against the centre's CAs.

The GOST signer and an external one (КриптоПро's ``cryptcp``) both leave a CAdES-BES
signature beside the signed PDF. A post checks it as it checks a PAdES one: against
the CA certificates its centre published, with no network. OpenSSL and its GOST
engine do the cryptography (:mod:`protocol_signatures.openssl`); asn1crypto reads who signed and
when, for the summary. Like :func:`protocol_signatures.pdf.verify_protocol` it never
raises: every outcome is a :class:`~protocol_signatures.pdf.VerificationResult`.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509

from .openssl import NO_GOST, OpenSSLError, gost_available, run_openssl
from .pdf import VerificationResult, signed_at_text

__all__ = ["SignatureFacts", "matches_content", "read_signature", "split_pem_bundle", "verify_detached"]

log = logging.getLogger(__name__)

_BEGIN = "-----BEGIN CERTIFICATE-----"
_END = "-----END CERTIFICATE-----"


def split_pem_bundle(bundle: str) -> list[str]:
    """The PEM certificates in ``bundle``, in order, each ending with a newline."""
    found = []
    rest = bundle
    while _BEGIN in rest:
        start = rest.index(_BEGIN)
        end = rest.find(_END, start)
        if end < 0:
            break
        found.append(rest[start : end + len(_END)] + "\n")
        rest = rest[end + len(_END) :]
    return found


@dataclass(frozen=True)
class SignatureFacts:
    """Who signed (from the certificate inside the signature) and when (the signed attribute)."""

    signer_name: str | None
    serial: str | None
    issuer: str | None
    signed_at: datetime | None
    certificate: asn1_x509.Certificate | None


def _serial_hex(number: int) -> str:
    digits = f"{number:X}"
    return digits.zfill(len(digits) + len(digits) % 2)


def _holder(subject: dict[str, str]) -> str | None:
    if subject.get("surname") and subject.get("given_name"):
        return f"{subject['surname']} {subject['given_name']}"
    return str(subject.get("common_name") or "") or None


def read_signature(der: bytes) -> SignatureFacts:
    """Parse a detached CMS SignedData; raise ``ValueError`` if it is none."""
    info = cms.ContentInfo.load(der, strict=True)
    if info["content_type"].native != "signed_data":
        raise ValueError("not SignedData")
    signed = info["content"]
    signer_infos = signed["signer_infos"]
    if len(signer_infos) < 1:
        raise ValueError("no signer")
    signer = signer_infos[0]
    signed_at = None
    for attribute in signer["signed_attrs"] or []:
        if attribute["type"].native == "signing_time":
            signed_at = attribute["values"][0].native
    sid = signer["sid"]
    certificate = None
    for choice in signed["certificates"] or []:
        candidate = choice.chosen
        if not isinstance(candidate, asn1_x509.Certificate):
            continue
        if sid.name == "issuer_and_serial_number":
            if candidate.serial_number == sid.chosen["serial_number"].native:
                certificate = candidate
        elif candidate.key_identifier == sid.chosen.native:
            certificate = candidate
    if certificate is None:
        return SignatureFacts(None, None, None, signed_at, None)
    issuer = certificate.issuer.native
    return SignatureFacts(
        signer_name=_holder(certificate.subject.native),
        serial=_serial_hex(certificate.serial_number),
        issuer=str(issuer.get("common_name") or issuer.get("organization_name") or "") or None,
        signed_at=signed_at.astimezone(UTC) if isinstance(signed_at, datetime) else None,
        certificate=certificate,
    )


def _result(
    valid: bool, intact: bool, trusted: bool, facts: SignatureFacts, summary: str
) -> VerificationResult:
    return VerificationResult(
        valid=valid,
        intact=intact,
        trusted=trusted,
        signer_name=facts.signer_name,
        serial=facts.serial,
        signed_at=facts.signed_at,
        covers_whole_document=intact,
        summary=summary,
    )


def _openssl_verify(workdir: Path, *, trust: bool, at: datetime | None = None) -> tuple[bool, str]:
    args = ["cms", "-verify", "-binary", "-inform", "DER", "-in", "doc.p7s", "-content", "doc.pdf"]
    if trust:
        args += ["-CAfile", "ca.pem", "-no-CApath", "-no-CAstore", "-purpose", "any"]
    else:
        args += ["-noverify"]
    if at is not None:
        args += ["-attime", str(int(at.timestamp()))]
    try:
        run_openssl([*args, "-out", "/dev/null"], workdir, timeout=30)
    except OpenSSLError as error:
        return False, f"{error} {error.stderr}"
    return True, ""


def _is_gost(signature: bytes, facts: SignatureFacts) -> bool:
    """Whether the signature or its signer's key is a GOST one (OIDs under 1.2.643)."""
    if facts.certificate is not None:
        key = facts.certificate["tbs_certificate"]["subject_public_key_info"]["algorithm"]["algorithm"]
        return str(key.dotted).startswith("1.2.643.")
    try:
        signer = cms.ContentInfo.load(signature)["content"]["signer_infos"][0]
        return str(signer["digest_algorithm"]["algorithm"].dotted).startswith("1.2.643.")
    except (ValueError, TypeError, KeyError, IndexError):
        return False


def matches_content(content: bytes, signature: bytes) -> bool | None:
    """Whether ``signature`` is a valid signature of exactly ``content`` (no trust check);
    None when this computer cannot tell (a GOST signature and no GOST engine)."""
    with tempfile.TemporaryDirectory(prefix="faplink-cms-") as temporary:
        workdir = Path(temporary)
        (workdir / "doc.pdf").write_bytes(content)
        (workdir / "doc.p7s").write_bytes(signature)
        intact, problem = _openssl_verify(workdir, trust=False)
    if intact:
        return True
    try:
        facts = read_signature(signature)
    except (ValueError, TypeError, KeyError):
        return False
    if NO_GOST in problem or (_is_gost(signature, facts) and not gost_available()):
        return None
    return False


def verify_detached(
    content: bytes, signature: bytes, ca_pems: Sequence[str], *, at: datetime | None = None
) -> VerificationResult:
    """Check a detached CMS ``signature`` of ``content`` against ``ca_pems`` alone, offline."""
    unknown = SignatureFacts(None, None, None, None, None)
    try:
        facts = read_signature(signature)
    except (ValueError, TypeError, KeyError):
        log.info("unreadable CMS signature offered for verification", exc_info=True)
        damaged = "Подпись повреждена или имеет неподдерживаемый формат: проверить её нельзя."
        return _result(False, False, False, unknown, damaged)
    if not ca_pems:
        return _result(
            False,
            False,
            False,
            facts,
            "Сертификат удостоверяющего центра ещё не получен: синхронизируйте ФАП с центром.",
        )
    when = signed_at_text(facts.signed_at)
    who = f"{facts.signer_name or 'владелец не указан'}, сертификат {facts.serial or '—'}, подписано {when}"
    with tempfile.TemporaryDirectory(prefix="faplink-cms-") as temporary:
        workdir = Path(temporary)
        (workdir / "doc.pdf").write_bytes(content)
        (workdir / "doc.p7s").write_bytes(signature)
        (workdir / "ca.pem").write_text("".join(ca_pems), encoding="ascii")
        intact, problem = _openssl_verify(workdir, trust=False)
        if not intact:
            # Without the engine OpenSSL cannot read a GOST key and says only "no public
            # key": that is this computer's lack, not a changed document.
            if NO_GOST in problem or (_is_gost(signature, facts) and not gost_available()):
                return _result(False, False, False, facts, f"Проверить подпись ГОСТ нельзя. {NO_GOST}")
            return _result(
                False,
                False,
                False,
                facts,
                "Документ изменён после подписания: подпись не соответствует содержимому. "
                "Запросите протокол в центре повторно.",
            )
        trusted, problem = _openssl_verify(workdir, trust=True, at=at)
        if trusted:
            return _result(True, True, True, facts, f"Подпись действительна: {who}.")
        if "certificate has expired" in problem and facts.signed_at is not None:
            as_signed, _ = _openssl_verify(workdir, trust=True, at=facts.signed_at)
            if as_signed:
                return _result(
                    True,
                    True,
                    True,
                    facts,
                    f"Подпись действительна: {who}. Срок действия сертификата истёк после подписания; "
                    "на момент подписи (по часам центра, без штампа времени) сертификат действовал.",
                )
            reason = "Срок действия сертификата подписанта истёк"
        elif "certificate has expired" in problem:
            reason = "Срок действия сертификата подписанта истёк"
        elif "not yet valid" in problem:
            reason = "Сертификат подписанта ещё не начал действовать"
        elif "unsupported certificate purpose" in problem or "key usage" in problem:
            reason = "Сертификат подписанта не подходит для подписи документов"
        else:
            reason = (
                "Сертификат не выдан удостоверяющим центром, которому доверяет ФАП: подписи нельзя доверять"
            )
        return _result(False, True, False, facts, f"{reason} ({who}).")
