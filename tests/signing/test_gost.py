"""GOST R 34.10-2012 signatures: the centre's GOST test CA, a consultant's key, a detached .p7s.

Each signature is checked by OpenSSL on its own (``openssl cms -verify`` with the GOST
engine, against the CA certificate alone) as well as by what a post runs
(:func:`protocol_signatures.cms.verify_detached`), before and after one changed byte.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from asn1crypto import cms

from central.signing import SigningError
from central.signing.gost import GOST_256, GOST_512, GostCA, GostSigner, GostSignerStore, sign_detached
from central.signing.visible import CertificateFacts, stamp_pdf
from protocol_signatures.cms import verify_detached
from tests.helpers.cms import PASSPHRASE, cms_print, flip_byte, needs_gost, openssl_cms_verify
from tests.helpers.signing import CENTRE, CONSULTANT, HOSPITAL, needs_poppler, pdftotext

pytestmark = needs_gost


@pytest.fixture(scope="session")
def gost_ca(tmp_path_factory: pytest.TempPathFactory) -> GostCA:
    return GostCA.open(tmp_path_factory.mktemp("gost") / "ca-gost", CENTRE)


@pytest.fixture(scope="session")
def gost_store(gost_ca: GostCA) -> GostSignerStore:
    return GostSignerStore(gost_ca.directory.parent / "signers-gost", gost_ca)


@pytest.fixture(scope="session")
def gost_signer(gost_store: GostSignerStore) -> GostSigner:
    return gost_store.create("consultant-1", CONSULTANT, HOSPITAL, PASSPHRASE)


@pytest.fixture(scope="session")
def stamped(protocol_pdf: bytes, gost_signer: GostSigner) -> bytes:
    return stamp_pdf(protocol_pdf, gost_signer.certificate, CONSULTANT)


@pytest.fixture(scope="session")
def p7s(stamped: bytes, gost_signer: GostSigner) -> bytes:
    return sign_detached(stamped, gost_signer, PASSPHRASE)


def test_openssl_alone_verifies_the_signature_against_the_gost_ca_and_a_changed_pdf_fails(
    stamped: bytes, p7s: bytes, gost_ca: GostCA, tmp_path: Path
) -> None:
    verified = openssl_cms_verify(stamped, p7s, gost_ca.certificate_pem, tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert "Verification successful" in verified.stderr
    changed = openssl_cms_verify(flip_byte(stamped), p7s, gost_ca.certificate_pem, tmp_path)
    assert changed.returncode != 0 and "Verification failure" in changed.stderr


def test_the_signature_is_cades_bes_with_gost_2012_256_and_streebog(p7s: bytes, tmp_path: Path) -> None:
    info = cms.ContentInfo.load(p7s)
    signed = info["content"]
    assert info["content_type"].native == "signed_data"
    assert signed["encap_content_info"]["content"].native is None  # detached
    signer = signed["signer_infos"][0]
    assert signer["digest_algorithm"]["algorithm"].dotted == "1.2.643.7.1.1.2.2"  # GOST R 34.11-2012, 256
    attributes = {a["type"].dotted for a in signer["signed_attrs"]}
    # content type, message digest, signing time, and ESS signingCertificateV2 (CAdES-BES)
    assert {"1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4", "1.2.840.113549.1.9.5"} <= attributes
    assert "1.2.840.113549.1.9.16.2.47" in attributes
    certificate = signed["certificates"][0].chosen
    assert (
        certificate["tbs_certificate"]["subject_public_key_info"]["algorithm"]["algorithm"].dotted == GOST_256
    )
    assert "GOST R 34.10-2012 with 256 bit modulus" in cms_print(p7s, tmp_path)


def test_the_post_check_says_valid_then_changed_then_untrusted(
    stamped: bytes, p7s: bytes, gost_ca: GostCA
) -> None:
    ca = [gost_ca.certificate_pem.decode()]
    result = verify_detached(stamped, p7s, ca)
    assert result.valid and result.trusted and result.intact
    assert result.summary.startswith(f"Подпись действительна: {CONSULTANT}, сертификат {result.serial}")
    changed = verify_detached(flip_byte(stamped), p7s, ca)
    assert not changed.valid and changed.summary.startswith("Документ изменён после подписания")
    other = GostCA.open(gost_ca.directory.parent / "other-ca", "Другой центр")
    foreign = verify_detached(stamped, p7s, [other.certificate_pem.decode()])
    assert not foreign.valid and foreign.intact and not foreign.trusted
    assert "не выдан удостоверяющим центром" in foreign.summary
    assert verify_detached(stamped, b"\x30\x03junk", ca).summary.startswith("Подпись повреждена")


def test_the_key_is_kept_encrypted_under_the_passphrase(gost_signer: GostSigner, stamped: bytes) -> None:
    key = gost_signer.key_path.read_bytes()
    assert key.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(gost_signer.key_path.stat().st_mode) == 0o600
    with pytest.raises(SigningError, match="Неверный пароль подписи"):
        sign_detached(stamped, gost_signer, "не тот пароль")
    with pytest.raises(SigningError, match="Введите пароль"):
        sign_detached(stamped, gost_signer, "")


def test_the_store_lists_the_consultants_keys_and_refuses_a_short_passphrase(
    gost_store: GostSignerStore, gost_signer: GostSigner
) -> None:
    listed = gost_store.signers("consultant-1")
    assert [s.serial for s in listed] == [gost_signer.serial]
    assert listed[0].trusted and listed[0].holder == CONSULTANT
    assert gost_store.signers("nobody") == []
    with pytest.raises(SigningError, match="не короче"):
        gost_store.create("consultant-2", CONSULTANT, HOSPITAL, "short")
    with pytest.raises(SigningError, match="Выберите подпись"):
        gost_store.find("consultant-1", "ABCD")


def test_a_512_bit_key_signs_with_the_512_bit_digest(
    gost_store: GostSignerStore, gost_ca: GostCA, tmp_path: Path
) -> None:
    signer = gost_store.create("consultant-512", CONSULTANT, HOSPITAL, PASSPHRASE, bits=512)
    assert signer.certificate.public_key_algorithm_oid.dotted_string == GOST_512
    document = b"%PDF-1.4 a protocol"
    p7s = sign_detached(document, signer, PASSPHRASE)
    digest = cms.ContentInfo.load(p7s)["content"]["signer_infos"][0]["digest_algorithm"]["algorithm"].dotted
    assert digest == "1.2.643.7.1.1.2.3"  # GOST R 34.11-2012, 512
    assert openssl_cms_verify(document, p7s, gost_ca.certificate_pem, tmp_path).returncode == 0


@needs_poppler
def test_the_stamp_shows_owner_serial_validity_and_issuer(
    stamped: bytes, gost_signer: GostSigner, tmp_path: Path
) -> None:
    text = " ".join(pdftotext(stamped, tmp_path).split())
    assert "Документ подписан электронной подписью" in text
    assert f"Владелец: {CONSULTANT}" in text
    assert f"Сертификат: {gost_signer.serial}" in text
    assert f"с {gost_signer.not_before:%d.%m.%Y} по {gost_signer.not_after:%d.%m.%Y}" in text
    issuer = CertificateFacts(gost_signer.certificate).issuer
    assert issuer == CENTRE  # the CA's organisation: its common name is cut to 64 bytes
    assert f"здатель: {issuer}" in text


def test_a_post_without_the_gost_engine_says_so_rather_than_changed(
    stamped: bytes, p7s: bytes, gost_ca: GostCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    import protocol_signatures.cms
    import protocol_signatures.openssl

    monkeypatch.setattr(
        protocol_signatures.openssl,
        "GOST_CONFIG",
        protocol_signatures.openssl.GOST_CONFIG.replace("engine_id = gost", "engine_id = none"),
    )
    monkeypatch.setattr(protocol_signatures.cms, "gost_available", lambda: False)
    result = verify_detached(stamped, p7s, [gost_ca.certificate_pem.decode()])
    assert not result.valid
    assert (
        result.summary.startswith("Проверить подпись ГОСТ нельзя")
        and "libengine-gost-openssl" in result.summary
    )
