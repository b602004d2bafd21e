"""PAdES signatures on consultation protocols: sign at the centre, verify at the post.

:func:`sign_protocol` adds a PAdES B-B signature (ETSI.CAdES.detached, SHA-256) with a
visible stamp in the bottom area of the last page, in one incremental update, so the
protocol's own bytes stay untouched and the signature covers the whole file.

:func:`verify_protocol` lives in :mod:`protocol_signatures.pdf`, which the node imports
without pulling in central; it is re-exported here.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter, enumerate_sig_fields
from pyhanko_certvalidator.registry import SimpleCertificateStore

from protocol_signatures.pdf import VerificationResult, asn1_certificate, verify_protocol

from .credentials import SignerCredential
from .errors import SigningError
from .stamp import place_stamp

__all__ = ["DEFAULT_REASON", "VerificationResult", "sign_protocol", "verify_protocol"]

log = logging.getLogger(__name__)

DEFAULT_REASON = "Протокол телемедицинской консультации"
_FIELD_PREFIX = "Signature"


# --- signing -------------------------------------------------------------------------


def _pyhanko_signer(
    credential: SignerCredential, ca_chain: Sequence[x509.Certificate]
) -> signers.SimpleSigner:
    key_der = credential.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    chain = {cert.fingerprint(hashes.SHA256()): cert for cert in [*credential.chain, *ca_chain]}
    return signers.SimpleSigner(
        signing_cert=asn1_certificate(credential.certificate),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([asn1_certificate(cert) for cert in chain.values()]),
    )


def _open_for_signing(pdf: bytes) -> IncrementalPdfFileWriter:
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        writer.root["/Pages"]  # noqa: B018 — a file without a page tree fails here
    except Exception as error:  # pyHanko raises a zoo of errors on a broken file
        raise SigningError(
            "Файл протокола повреждён или не является PDF: сформируйте протокол заново."
        ) from error
    if writer.prev.encrypted:
        raise SigningError("Протокол зашифрован: подписать можно только незашифрованный PDF.")
    return writer


def _field_name(writer: IncrementalPdfFileWriter) -> str:
    taken = {name for name, _, _ in enumerate_sig_fields(writer.prev, filled_status=None)}
    number = 1
    while f"{_FIELD_PREFIX}{number}" in taken:
        number += 1
    return f"{_FIELD_PREFIX}{number}"


def sign_protocol(
    pdf: bytes,
    credential: SignerCredential,
    *,
    signer_name: str,
    reason: str = DEFAULT_REASON,
    location: str | None = None,
    ca_chain: Sequence[x509.Certificate] = (),
) -> bytes:
    """Sign a protocol PDF (PAdES B-B) with a visible stamp; return the signed PDF."""
    signer_name = " ".join(signer_name.split())
    if not signer_name:
        raise SigningError("Укажите ФИО подписывающего: оно печатается в штампе подписи.")
    credential.check_usable()
    writer = _open_for_signing(pdf)
    stamp = place_stamp(writer, credential, signer_name)
    field_name = _field_name(writer)
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        name=signer_name,
    )
    pdf_signer = signers.PdfSigner(
        metadata,
        _pyhanko_signer(credential, ca_chain),
        stamp_style=stamp.design.style(),
        new_field_spec=SigFieldSpec(
            field_name,
            on_page=stamp.page,
            box=stamp.box,
            readable_field_name=f"Электронная подпись: {signer_name}",
        ),
    )
    try:
        output = pdf_signer.sign_pdf(writer, appearance_text_params={"text": stamp.design.text})
    except Exception as error:
        log.exception("pyHanko could not sign the protocol")
        raise SigningError(
            "Не удалось подписать протокол: файл PDF не поддерживается. "
            "Сформируйте протокол заново и повторите подписание."
        ) from error
    return bytes(output.getbuffer())
