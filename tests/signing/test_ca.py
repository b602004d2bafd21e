"""The centre's certification authority and consultants' credentials.

The centre's CA is created on the first run and kept; it issues each consultant a
certificate fit for signing protocols; a credential is stored as PKCS#12 under the
consultant's passphrase and opened again with it, and anything unusable is refused
with a message in Russian.
"""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from central.signing import CentreCA, SignerCredential, SigningError
from central.signing.ca import DOCUMENT_SIGNING
from tests.helpers.signing import CENTRE, CONSULTANT, HOSPITAL


def attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    return str(name.get_attributes_for_oid(oid)[0].value)


def test_centre_ca_is_created_on_first_run_and_kept(tmp_path: Path) -> None:
    created = CentreCA.open(tmp_path, CENTRE)

    assert stat.S_IMODE((tmp_path / "ca.key").stat().st_mode) == 0o600
    assert (tmp_path / "ca.crt").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert (tmp_path / "ca.crt").read_bytes() == created.certificate_pem
    subject = created.certificate.subject
    assert attribute(subject, NameOID.ORGANIZATION_NAME) == CENTRE
    assert attribute(subject, NameOID.COMMON_NAME).endswith("— УЦ faplink")
    constraints = created.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca

    reopened = CentreCA.open(tmp_path, "Другое название, не используется")
    assert reopened.certificate == created.certificate
    assert reopened.issued(reopened.issue_signer(CONSULTANT, HOSPITAL, None).certificate)


def test_a_short_centre_name_gets_the_full_ca_title(tmp_path: Path) -> None:
    ca = CentreCA.open(tmp_path, "ОКБ")
    assert ca.name == "ОКБ — удостоверяющий центр faplink"


def test_a_centre_ca_without_its_key_is_not_silently_replaced(tmp_path: Path) -> None:
    CentreCA.open(tmp_path, CENTRE)
    (tmp_path / "ca.key").unlink()

    with pytest.raises(SigningError, match="Нет ключа УЦ"):
        CentreCA.open(tmp_path, CENTRE)
    assert not (tmp_path / "ca.key").exists()


def test_consultant_certificate_is_fit_for_signing_documents(
    centre_ca: CentreCA, consultant: SignerCredential
) -> None:
    certificate = consultant.certificate
    extensions = certificate.extensions

    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    purposes = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(purposes) == {ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING}
    assert not extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    emails = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert emails.get_values_for_type(x509.RFC822Name) == ["kuznetsova@example.ru"]

    assert consultant.common_name == CONSULTANT
    assert consultant.organization == HOSPITAL
    assert attribute(certificate.subject, NameOID.SURNAME) == "Кузнецова"
    assert attribute(certificate.subject, NameOID.GIVEN_NAME) == "Мария Андреевна"
    assert centre_ca.issued(certificate)
    assert consultant.chain == (centre_ca.certificate,)
    assert timedelta(days=364) < consultant.not_after - consultant.not_before < timedelta(days=366)
    assert certificate.serial_number.bit_length() > 64  # random, not a counter


def test_every_certificate_gets_its_own_random_serial(centre_ca: CentreCA) -> None:
    first = centre_ca.issue_signer(CONSULTANT, HOSPITAL, None, valid_days=30)
    second = centre_ca.issue_signer(CONSULTANT, HOSPITAL, None, valid_days=30)
    assert first.serial_hex != second.serial_hex
    assert len(first.serial_hex) % 2 == 0


def test_a_long_name_stays_whole_in_surname_and_given_names(centre_ca: CentreCA) -> None:
    name = "Константинопольская Александра Владимировна-Голицына"
    credential = centre_ca.issue_signer(name, HOSPITAL, None)

    # CN is bounded (64 bytes; a Cyrillic letter takes two), the name parts are not.
    assert len(credential.common_name.encode()) <= 64
    assert credential.common_name.endswith("…")
    subject = credential.certificate.subject
    assert attribute(subject, NameOID.SURNAME) == "Константинопольская"
    assert attribute(subject, NameOID.GIVEN_NAME) == "Александра Владимировна-Голицына"


def test_issuing_needs_a_name_and_a_sensible_email(centre_ca: CentreCA) -> None:
    with pytest.raises(SigningError, match="ФИО"):
        centre_ca.issue_signer("  ", HOSPITAL, None)
    with pytest.raises(SigningError, match="электронной почты"):
        centre_ca.issue_signer(CONSULTANT, HOSPITAL, "кузнецова@почта.рф")


def test_credential_survives_a_pkcs12_round_trip(
    centre_ca: CentreCA, consultant: SignerCredential
) -> None:
    stored = consultant.to_pkcs12("верный пароль 2025")
    opened = centre_ca.import_pkcs12(stored, "верный пароль 2025")

    assert opened.certificate == consultant.certificate
    assert opened.private_key.private_numbers() == consultant.private_key.private_numbers()
    assert opened.chain == (centre_ca.certificate,)
    assert opened.trusted and opened.trust_note == ""


def test_wrong_passphrase_is_refused_in_russian(
    centre_ca: CentreCA, consultant: SignerCredential
) -> None:
    stored = consultant.to_pkcs12("верный пароль 2025")
    with pytest.raises(SigningError, match="Неверный пароль контейнера ключа"):
        centre_ca.import_pkcs12(stored, "неверный пароль")


def test_a_container_needs_a_passphrase(consultant: SignerCredential) -> None:
    with pytest.raises(SigningError, match="Задайте пароль"):
        consultant.to_pkcs12("")


def test_a_file_that_is_not_pkcs12_is_named_as_such(centre_ca: CentreCA) -> None:
    with pytest.raises(SigningError, match="не является контейнером PKCS#12"):
        centre_ca.import_pkcs12(centre_ca.certificate_pem, "пароль")


def test_a_container_without_the_private_key_is_refused(
    centre_ca: CentreCA, consultant: SignerCredential
) -> None:
    certificate_only = pkcs12.serialize_key_and_certificates(
        name=None,
        key=None,
        cert=consultant.certificate,
        cas=None,
        encryption_algorithm=BestAvailableEncryption(b"secret"),
    )
    with pytest.raises(SigningError, match="нет закрытого ключа"):
        centre_ca.import_pkcs12(certificate_only, "secret")


def self_signed(common_name: str, not_before: datetime, not_after: datetime) -> bytes:
    """A PKCS#12 container from somebody else's CA (here: self-signed), passphrase 'secret'."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(
        name=None,
        key=key,
        cert=certificate,
        cas=None,
        encryption_algorithm=BestAvailableEncryption(b"secret"),
    )


def test_an_expired_certificate_is_refused(centre_ca: CentreCA) -> None:
    now = datetime.now(UTC)
    expired = self_signed("Иванов Иван", now - timedelta(days=400), now - timedelta(days=35))
    with pytest.raises(SigningError, match="Срок действия сертификата .* истёк"):
        centre_ca.import_pkcs12(expired, "secret")


def test_a_certificate_from_another_ca_is_accepted_but_flagged(
    centre_ca: CentreCA, tmp_path: Path
) -> None:
    elsewhere = CentreCA.open(tmp_path, "Другой центр")
    foreign = elsewhere.issue_signer("Петров Пётр Петрович", "Другой центр", None)

    opened = centre_ca.import_pkcs12(foreign.to_pkcs12("пароль"), "пароль")

    assert not opened.trusted
    assert "не удостоверяющим центром faplink" in opened.trust_note
    assert opened.certificate == foreign.certificate
