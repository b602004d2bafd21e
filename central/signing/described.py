"""What «Выберите подпись» and the stamp say of a stored certificate, whatever holds its key."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

__all__ = ["Described"]


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else name.rfc4514_string()


class Described:
    """Mixin for a record with a `certificate`: its holder, issuer and validity."""

    certificate: x509.Certificate

    @property
    def holder(self) -> str:
        return _common_name(self.certificate.subject)

    @property
    def issuer(self) -> str:
        return _common_name(self.certificate.issuer)

    @property
    def not_before(self) -> datetime:
        return self.certificate.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc
