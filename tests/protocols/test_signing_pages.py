"""«Подписание протокола» through central's pages: create or import a signature, sign, download.

The signed protocol is checked the way others will check it: by poppler's ``pdfsig``
with an NSS database that trusts the centre's CA alone, and by pyHanko's validation
(what the post runs offline), before and after one changed byte.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from cryptography.x509.oid import NameOID

from central.signing import CentreCA, SignerCredential, SignerStore
from domain.models import Attachment, AttachmentKind, Organization
from protocol_signatures.pdf import verify_protocol
from sync.changes import collect_changes
from tests.helpers.appeals import PASSPHRASE, closed, in_work, login_page
from tests.helpers.signing import needs_poppler, pdfsig, pdftotext, tamper


def _signed_rows() -> list[Attachment]:
    return list(Attachment.select().where(Attachment.kind == AttachmentKind.SIGNED_PROTOCOL))


def _foreign_pkcs12(password: str) -> bytes:
    """A certificate from some other CA: a self-signed EC key (quick to make)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Иванова Мария Сергеевна")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(
        b"foreign", key, certificate, None, BestAvailableEncryption(password.encode())
    )


@needs_poppler
def test_consultant_creates_a_signature_signs_and_the_post_can_trust_it(  # type: ignore[no-untyped-def]
    central, centre_ca: CentreCA, nss_db: str, tmp_path: Path
) -> None:
    app, data = central
    client = app.test_client()
    appeal, token = closed(client, data)
    card = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "Подписание протокола" in card and "Скачать подписанный протокол" not in card

    page = client.get(f"/appeals/{appeal.id}/signature").get_data(as_text=True)
    assert "Выберите подпись" in page and "У вас ещё нет подписи" in page
    mistyped = client.post(
        f"/appeals/{appeal.id}/signature/new",
        data={"csrf_token": token, "new_passphrase": PASSPHRASE, "new_passphrase_again": PASSPHRASE + "!"},
    )
    assert mistyped.status_code == 400 and "Пароли не совпадают" in mistyped.get_data(as_text=True)
    created = client.post(
        f"/appeals/{appeal.id}/signature/new",
        data={"csrf_token": token, "new_passphrase": PASSPHRASE, "new_passphrase_again": PASSPHRASE},
        follow_redirects=True,
    )
    html = created.get_data(as_text=True)
    assert "Подпись создана" in html and "Иванова Мария Сергеевна" in html
    serial = html.split('name="signer" value="')[1].split('"')[0]
    # The key stays at central, under the consultant's passphrase, never in the replicated data.
    stored = Path(app.config["DATA_DIR"]) / "signers" / data.consultants["ivanova"] / f"{serial}.p12"
    assert stored.is_file() and (stored.stat().st_mode & 0o077) == 0

    wrong = client.post(
        f"/appeals/{appeal.id}/signature",
        data={"csrf_token": token, "signer": serial, "passphrase": "не тот пароль"},
    )
    assert wrong.status_code == 400 and "Неверный пароль" in wrong.get_data(as_text=True)
    assert _signed_rows() == []

    signed_page = client.post(
        f"/appeals/{appeal.id}/signature",
        data={"csrf_token": token, "signer": serial, "passphrase": PASSPHRASE},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Протокол подписан" in signed_page
    assert "Подпись действительна: Иванова Мария Сергеевна" in signed_page
    assert "Скачать подписанный протокол" in client.get(f"/appeals/{appeal.id}").get_data(as_text=True)

    download = client.get(f"/appeals/{appeal.id}/signed-protocol.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    signed = download.data
    report = pdfsig(nss_db, signed, tmp_path)
    assert "Signature is Valid" in report and "Certificate is Trusted" in report
    assert "Total document signed" in report
    stamp = pdftotext(signed, tmp_path)
    assert "Владелец: Иванова Мария Сергеевна" in stamp and f"Сертификат: {serial}" in stamp

    # The centre published its CA certificate for the posts; pyHanko trusts it alone.
    centre = Organization.get_by_id(data.centre_id)
    assert centre.ca_certificate == centre_ca.certificate_pem.decode()
    result = verify_protocol(signed, centre.ca_certificate.encode())
    assert result.valid and result.trusted and result.signer_name == "Иванова Мария Сергеевна"
    assert result.serial == serial

    tampered = tamper(signed)
    assert sum(a != b for a, b in zip(tampered, signed, strict=True)) == 1
    assert "Signature is Valid" not in pdfsig(nss_db, tampered, tmp_path)
    changed = verify_protocol(tampered, centre.ca_certificate.encode())
    assert not changed.valid and changed.summary.startswith("Документ изменён после подписания")

    # What post 1 pulls carries the signed PDF's record and the CA certificate; post 2 gets no file.
    pulled, _ = collect_changes(0, 100_000, scope_org=data.posts[0][0])
    assert _signed_rows()[0].id in {row.id for row in pulled}
    centre_rows = [row for row in pulled if isinstance(row, Organization) and row.id == data.centre_id]
    assert centre_rows and centre_rows[-1].ca_certificate.startswith("-----BEGIN CERTIFICATE-----")
    elsewhere, _ = collect_changes(0, 100_000, scope_org=data.posts[1][0])
    assert _signed_rows()[0].id not in {row.id for row in elsewhere}


def test_an_imported_pkcs12_signs_and_a_foreign_one_is_flagged(  # type: ignore[no-untyped-def]
    central, ivanova_key: SignerCredential
) -> None:
    app, data = central
    client = app.test_client()
    appeal, token = closed(client, data)
    container = ivanova_key.to_pkcs12("пароль контейнера")
    imported = client.post(
        f"/appeals/{appeal.id}/signature/import",
        data={
            "csrf_token": token,
            "pkcs12": (io.BytesIO(container), "ivanova.p12"),
            "import_passphrase": "пароль контейнера",
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert f"Подпись импортирована: сертификат {ivanova_key.serial_hex}" in imported
    signed = client.post(
        f"/appeals/{appeal.id}/signature",
        data={"csrf_token": token, "signer": ivanova_key.serial_hex, "passphrase": "пароль контейнера"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Подпись действительна" in signed and len(_signed_rows()) == 1

    not_a_container = client.post(
        f"/appeals/{appeal.id}/signature/import",
        data={"csrf_token": token, "pkcs12": (io.BytesIO(b"%PDF-1.4"), "x.p12"), "import_passphrase": "x"},
        content_type="multipart/form-data",
    )
    assert not_a_container.status_code == 400
    assert "не является контейнером PKCS#12" in not_a_container.get_data(as_text=True)

    foreign = client.post(
        f"/appeals/{appeal.id}/signature/import",
        data={
            "csrf_token": token,
            "pkcs12": (io.BytesIO(_foreign_pkcs12("чужой пароль")), "foreign.pfx"),
            "import_passphrase": "чужой пароль",
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "на ФАП подпись будет недоверенной" in foreign
    assert "не удостоверяющий центр faplink" in foreign


@pytest.mark.parametrize("other", ["kuznetsova", "smirnov"])
def test_only_the_author_of_the_protocol_may_sign_it(central, other: str) -> None:  # type: ignore[no-untyped-def]
    """Another specialty, or the same specialty but not the author, cannot reach the signing."""
    app, data = central
    author = app.test_client()
    appeal, _token = closed(author, data)
    client = app.test_client()
    token = login_page(client, other)
    assert client.get(f"/appeals/{appeal.id}/signature").status_code in (403, 404)
    posted = client.post(
        f"/appeals/{appeal.id}/signature", data={"csrf_token": token, "signer": "AB", "passphrase": "x"}
    )
    assert posted.status_code in (403, 404)
    made = client.post(
        f"/appeals/{appeal.id}/signature/new",
        data={"csrf_token": token, "new_passphrase": PASSPHRASE, "new_passphrase_again": PASSPHRASE},
    )
    assert made.status_code in (403, 404)
    assert client.get(f"/appeals/{appeal.id}/signed-protocol.pdf").status_code == 404
    assert "Подписание протокола" not in client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert _signed_rows() == []


def test_an_administrator_who_sees_the_appeal_still_may_not_sign(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    appeal, _ = closed(app.test_client(), data)
    client = app.test_client()
    login_page(client, "admin")
    card = client.get(f"/appeals/{appeal.id}")
    assert card.status_code == 200 and "Подписание протокола" not in card.get_data(as_text=True)
    assert client.get(f"/appeals/{appeal.id}/signature").status_code == 403


def test_an_appeal_in_work_has_nothing_to_sign(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, _ = in_work(client, data)
    refused = client.get(f"/appeals/{appeal.id}/signature")
    assert refused.status_code == 404
    assert "только отправленный протокол закрытого обращения" in refused.get_data(as_text=True)


def test_signing_through_the_json_api(central, centre_ca: CentreCA, ivanova_key: SignerCredential) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    SignerStore(Path(app.config["DATA_DIR"]) / "signers", [centre_ca.certificate]).save(
        data.consultants["ivanova"], ivanova_key, PASSPHRASE
    )
    client = app.test_client()
    appeal, token = closed(client, data)
    headers = {"X-CSRF-Token": token}
    signers = client.get("/api/v1/signers").get_json()["signers"]
    assert [(s["serial"], s["holder"], s["trusted"]) for s in signers] == [
        (ivanova_key.serial_hex, "Иванова Мария Сергеевна", True)
    ]
    wrong = client.post(
        f"/api/v1/appeals/{appeal.id}/signature",
        json={"signer": ivanova_key.serial_hex, "passphrase": "x"},
        headers=headers,
    )
    assert wrong.status_code == 400 and "Неверный пароль" in wrong.get_json()["message"]
    signed = client.post(
        f"/api/v1/appeals/{appeal.id}/signature",
        json={"signer": ivanova_key.serial_hex, "passphrase": PASSPHRASE},
        headers=headers,
    )
    assert signed.status_code == 201, signed.get_json()
    assert signed.get_json()["summary"].startswith("Подпись действительна: Иванова Мария Сергеевна")
    assert [a.id for a in _signed_rows()] == [signed.get_json()["id"]]
    spec = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/signers", "/api/v1/appeals/{appeal_id}/signature"} <= set(spec)
