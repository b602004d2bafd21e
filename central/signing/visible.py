"""The visible stamp alone, for a protocol signed by a detached signature (GOST, external).

The PDF gets the same stamp a PAdES signature carries (owner, certificate serial,
validity, and here the issuer), drawn on the page in one incremental update; then the
stamped PDF is what the detached ``.p7s`` signs, so the stamp is covered too.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic, layout

from .errors import SigningError
from .pades import _open_for_signing
from .stamp import place_stamp

__all__ = ["CertificateFacts", "stamp_pdf"]

log = logging.getLogger(__name__)


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


@dataclass(frozen=True)
class CertificateFacts:
    """What the stamp prints of any certificate, whatever its key (GOST ones included)."""

    certificate: x509.Certificate

    @property
    def common_name(self) -> str:
        return _attribute(self.certificate.subject, NameOID.COMMON_NAME) or ""

    @property
    def organization(self) -> str | None:
        return _attribute(self.certificate.subject, NameOID.ORGANIZATION_NAME)

    @property
    def serial_hex(self) -> str:
        digits = f"{self.certificate.serial_number:X}"
        return digits.zfill(len(digits) + len(digits) % 2)

    @property
    def not_before(self) -> datetime:
        return self.certificate.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc

    @property
    def issuer(self) -> str:
        """The CA's common name, or its organisation when the name was cut to fit (ours are)."""
        common = _attribute(self.certificate.issuer, NameOID.COMMON_NAME)
        organization = _attribute(self.certificate.issuer, NameOID.ORGANIZATION_NAME)
        if common and not ("…" in common and organization):
            return common
        return organization or self.certificate.issuer.rfc4514_string()


def stamp_pdf(pdf: bytes, certificate: x509.Certificate, signer_name: str) -> bytes:
    """The protocol with the signature stamp drawn in the bottom area of its last page."""
    signer_name = " ".join(signer_name.split())
    if not signer_name:
        raise SigningError("Укажите ФИО подписывающего: оно печатается в штампе подписи.")
    facts = CertificateFacts(certificate)
    writer = _open_for_signing(pdf)
    placement = place_stamp(writer, facts, signer_name, issuer=facts.issuer)
    left, bottom, right, top = placement.box
    stamp = placement.design.style().create_stamp(
        writer,
        layout.BoxConstraints(width=right - left, height=top - bottom),
        {"text": placement.design.text},
    )
    pages = int(writer.root["/Pages"]["/Count"])
    page = placement.page if placement.page >= 0 else pages + placement.page
    try:
        page_ref, _resources = writer.find_page_for_modification(page)
        page_object = page_ref.get_object()
        if "/Contents" not in page_object:  # the blank page place_stamp may have appended
            page_object["/Contents"] = writer.add_object(generic.StreamObject(stream_data=b""))
            writer.update_container(page_object)
        stamp.apply(page, left, bottom)
        output = io.BytesIO()
        writer.write(output)
    except Exception as error:  # pyHanko raises a zoo of errors on odd files
        log.exception("pyHanko could not stamp the protocol")
        raise SigningError(
            "Не удалось поставить штамп подписи: файл PDF не поддерживается. "
            "Сформируйте протокол заново и повторите подписание."
        ) from error
    return output.getvalue()
