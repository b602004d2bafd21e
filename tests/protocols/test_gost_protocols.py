"""«Подписание протокола» with GOST R 34.10-2012 and with an external program, end to end.

The administrator chooses the centre's signer on «Электронная подпись»; the consultant
creates a GOST key under a passphrase and signs; the .p7s is served beside the PDF,
checked by OpenSSL alone against what `faplink central signing ca` prints, and
reaches the post with the protocol, where it is checked offline.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms

from domain.models import Attachment, AttachmentKind, Organization
from sync.changes import collect_changes
from sync.db import database
from tests.helpers.appeals import closed, csrf
from tests.helpers.cms import FAKE_CRYPTCP, PASSPHRASE, flip_byte, needs_gost, openssl_cms_verify
from tests.helpers.web import login

pytestmark = needs_gost
FAPLINK = str(Path(sys.executable).with_name("faplink"))


def _admin_chooses(app: Any, centre_id: str, form: dict[str, str]) -> Any:
    admin = app.test_client()
    login(admin, "admin")
    page = admin.get("/admin/signing")
    assert page.status_code == 200 and "Электронная подпись" in page.get_data(as_text=True)
    return admin.post(
        f"/admin/signing?centre={centre_id}",
        data={"csrf_token": csrf(page.get_data(as_text=True)), **form},
        follow_redirects=True,
    )


@pytest.fixture
def gost_centre(central):  # type: ignore[no-untyped-def]
    app, data = central
    saved = _admin_chooses(app, data.centre_id, {"kind": "gost", "gost_bits": "256"})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert "Электронная подпись центра" in saved.get_data(as_text=True)
    return app, data


def _gost_signed(app: Any, data: Any) -> tuple[Any, Any, str]:
    """A closed appeal the consultant signed with a new GOST key, through the pages and the API."""
    client = app.test_client()
    appeal, token = closed(client, data)
    page = client.get(f"/appeals/{appeal.id}/signature").get_data(as_text=True)
    assert "Создать подпись" in page and "Импортировать подпись" not in page
    created = client.post(
        f"/appeals/{appeal.id}/signature/new",
        data={"csrf_token": token, "new_passphrase": PASSPHRASE, "new_passphrase_again": PASSPHRASE},
        follow_redirects=True,
    )
    html = created.get_data(as_text=True)
    assert "Подпись создана" in html and "УЦ ГОСТ faplink" in html
    serial = html.split('name="signer" value="')[1].split('"')[0]
    wrong = client.post(
        f"/api/v1/appeals/{appeal.id}/signature",
        json={"signer": serial, "passphrase": "не тот пароль"},
        headers={"X-CSRF-Token": token},
    )
    assert wrong.status_code == 400 and "Неверный пароль подписи" in wrong.get_json()["message"]
    signed = client.post(
        f"/api/v1/appeals/{appeal.id}/signature",
        json={"signer": serial, "passphrase": PASSPHRASE},
        headers={"X-CSRF-Token": token},
    )
    assert signed.status_code == 201, signed.get_json()
    body = signed.get_json()
    assert body["summary"].startswith("Подпись действительна: Иванова Мария Сергеевна")
    assert body["signature"]["url"] == f"/api/v1/appeals/{appeal.id}/protocol.p7s"
    return client, appeal, serial


def test_gost_is_refused_on_a_server_without_the_engine(central, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from central.protocols import signer_settings

    app, data = central
    monkeypatch.setattr(signer_settings, "gost_available", lambda: False)
    refused = _admin_chooses(app, data.centre_id, {"kind": "gost", "gost_bits": "256"})
    assert refused.status_code == 400
    assert "Подпись ГОСТ на этом сервере недоступна" in refused.get_data(as_text=True)
    assert signer_settings.kind_for(data.centre_id) == "pades"


def test_the_admin_chooses_gost_and_the_posts_get_its_ca(gost_centre) -> None:  # type: ignore[no-untyped-def]
    app, data = gost_centre
    bundle = Organization.get_by_id(data.centre_id).ca_certificate
    assert bundle.count("-----BEGIN CERTIFICATE-----") == 2  # the RSA CA first, then the GOST one
    gost_pem = (Path(app.config["DATA_DIR"]) / "ca-gost" / "ca.crt").read_text()
    assert bundle.endswith(gost_pem)
    consultant = app.test_client()
    login(consultant, "ivanova")
    assert consultant.get("/admin/signing").status_code == 403


def test_signed_with_gost_served_as_p7s_and_verified_by_openssl_against_the_cli_ca(  # type: ignore[no-untyped-def]
    gost_centre, tmp_path: Path
) -> None:
    app, data = gost_centre
    client, appeal, serial = _gost_signed(app, data)
    response = client.get(f"/api/v1/appeals/{appeal.id}/protocol.p7s")
    assert response.status_code == 200 and response.mimetype == "application/pkcs7-signature"
    p7s = response.data
    assert cms.ContentInfo.load(p7s)["content_type"].native == "signed_data"
    pdf = client.get(f"/appeals/{appeal.id}/signed-protocol.pdf").data
    stored = {a.kind: a for a in Attachment.select().where(Attachment.appeal == appeal.id)}
    assert stored[AttachmentKind.PROTOCOL_SIGNATURE].filename.endswith("-signed.pdf.p7s")
    assert stored[AttachmentKind.PROTOCOL_SIGNATURE].content_type == "application/pkcs7-signature"

    printed = subprocess.run(
        [FAPLINK, "central", "signing", "ca", "--data", str(app.config["DATA_DIR"])],
        capture_output=True,
        check=True,
        timeout=120,
        env={**os.environ, "FAPLINK_DATABASE_URL": app.config["DATABASE_URL"]},
    ).stdout
    assert printed.count(b"-----BEGIN CERTIFICATE-----") == 1
    verified = openssl_cms_verify(pdf, p7s, printed, tmp_path)
    assert verified.returncode == 0, verified.stderr
    changed = openssl_cms_verify(flip_byte(pdf), p7s, printed, tmp_path)
    assert changed.returncode != 0 and "Verification failure" in changed.stderr

    card = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "Скачать подпись (.p7s)" in card and f"сертификат {serial}" in card


def test_the_p7s_follows_the_pdfs_access_rules(gost_centre) -> None:  # type: ignore[no-untyped-def]
    app, data = gost_centre
    _client, appeal, _serial = _gost_signed(app, data)
    url = f"/api/v1/appeals/{appeal.id}/protocol.p7s"
    assert app.test_client().get(url).status_code in (401, 302)
    other = app.test_client()
    login(other, "kuznetsova")  # neurology: not her appeal
    assert other.get(url).status_code == 404
    assert other.get(f"/api/v1/appeals/{appeal.id}/protocol.pdf").status_code == 404
    admin = app.test_client()
    login(admin, "admin")
    assert admin.get(url).status_code == 200


def test_a_pades_signed_protocol_has_no_p7s(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    client = app.test_client()
    appeal, token = closed(client, data)
    client.post(
        f"/appeals/{appeal.id}/signature/new",
        data={"csrf_token": token, "new_passphrase": PASSPHRASE, "new_passphrase_again": PASSPHRASE},
    )
    serial = client.get("/api/v1/signers").get_json()["signers"][0]["serial"]
    signed = client.post(
        f"/api/v1/appeals/{appeal.id}/signature",
        json={"signer": serial, "passphrase": PASSPHRASE},
        headers={"X-CSRF-Token": token},
    )
    assert signed.status_code == 201 and signed.get_json()["signature"] is None
    assert client.get(f"/api/v1/appeals/{appeal.id}/protocol.p7s").status_code == 404
    assert Organization.get_by_id(data.centre_id).ca_certificate.count("BEGIN CERTIFICATE") == 1


def _to_the_post(app: Any, post_id: str) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """What central's next pull gives the post: its records and the signed files' bytes."""
    rows, _ = collect_changes(0, 1_000_000, scope_org=post_id)
    records = [row.to_wire() for row in rows]
    blobs = app.extensions["blobs"]
    kinds = (AttachmentKind.SIGNED_PROTOCOL, AttachmentKind.PROTOCOL_SIGNATURE)
    files = {a.sha256: blobs.read(a.sha256) for a in Attachment.select().where(Attachment.kind.in_(kinds))}
    return records, files


def test_the_post_verifies_the_gost_signature_offline_after_the_sync(  # type: ignore[no-untyped-def]
    gost_centre, tmp_path: Path
) -> None:
    from node import create_app as create_node
    from node.identity import NodeIdentity
    from sync.apply import apply_records
    from sync.request_signing import NodeKey

    app, data = gost_centre
    _client, appeal, serial = _gost_signed(app, data)
    post_id = data.posts[0][0]
    records, files = _to_the_post(app, post_id)
    database.close()

    identity = NodeIdentity("test-post-1", post_id, "http://127.0.0.1:9", tmp_path / "node")
    NodeKey.generate().save(identity.key_path)
    identity.save()
    node = create_node({"DATA_DIR": identity.data_dir, "SYNC_ENABLED": False, "TESTING": True})
    result = apply_records(records, peer="central", from_central=True)
    assert not result.refused and result.pending == 0
    for data_bytes in files.values():
        node.extensions["blobs"].put(data_bytes)

    feldsher = node.test_client()
    login(feldsher, "fap1")
    page = feldsher.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "Электронная подпись протокола" in page
    assert f"Подпись действительна: Иванова Мария Сергеевна, сертификат {serial}" in page
    assert "Скачать подпись (.p7s)" in page
    p7s = feldsher.get(f"/api/v1/appeals/{appeal.id}/protocol.p7s")
    assert p7s.status_code == 200 and p7s.mimetype == "application/pkcs7-signature"
    assert p7s.data in files.values()

    # A signed PDF changed on its way no longer matches its signature.
    pdf = next(a for a in Attachment.select() if a.kind == AttachmentKind.SIGNED_PROTOCOL)
    changed = node.extensions["blobs"].put(flip_byte(files[pdf.sha256]))
    Attachment.update(sha256=changed).where(Attachment.id == pdf.id).execute()
    response = feldsher.get(f"/appeals/{appeal.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page[page.find("<main") :][:600]
    assert "Документ изменён после подписания" in page and "Подпись действительна" not in page


def test_an_external_program_signs_and_its_failure_reaches_the_consultant(  # type: ignore[no-untyped-def]
    central, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from central.signing.gost import GostCA, GostSignerStore

    app, data = central
    # The "accredited" CA and the consultant's key, held by the stand-in for cryptcp.
    ca = GostCA.open(tmp_path / "accredited", "Аккредитованный УЦ (тест)")
    key = GostSignerStore(tmp_path / "token", ca).create("x", "Иванова Мария Сергеевна", "ОКБ", PASSPHRASE)
    certificate = key.key_path.with_suffix(".crt")
    monkeypatch.setenv("FAKE_CRYPTCP_CERT", str(certificate))
    monkeypatch.setenv("FAKE_CRYPTCP_KEY", str(key.key_path))
    monkeypatch.setenv("FAKE_CRYPTCP_PIN", PASSPHRASE)
    command = f"{FAKE_CRYPTCP} -signf -der -dir {{outdir}} -thumbprint {{thumbprint}} {{input}}"
    refused = _admin_chooses(
        app, data.centre_id, {"kind": "external", "command": "cryptcp -signf", "timeout": "30"}
    )
    assert refused.status_code == 400 and "нет {input}" in refused.get_data(as_text=True)
    broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    unreadable = _admin_chooses(
        app, data.centre_id, {"kind": "external", "command": command, "external_ca": broken}
    )
    assert unreadable.status_code == 400 and "Сертификат УЦ № 1 не читается" in unreadable.get_data(
        as_text=True
    )
    saved = _admin_chooses(
        app,
        data.centre_id,
        {"kind": "external", "command": command, "timeout": "30", "external_ca": ca.certificate_pem.decode()},
    )
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert Organization.get_by_id(data.centre_id).ca_certificate.endswith(ca.certificate_pem.decode())

    client = app.test_client()
    appeal, token = closed(client, data)
    page = client.get(f"/appeals/{appeal.id}/signature").get_data(as_text=True)
    assert "Добавить сертификат" in page and "Создать подпись" not in page
    added = client.post(
        f"/appeals/{appeal.id}/signature/certificate",
        data={"csrf_token": token, "certificate": (certificate.open("rb"), "ivanova.cer")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    html = added.get_data(as_text=True)
    assert "Сертификат добавлен" in html
    thumbprint = html.split('name="signer" value="')[1].split('"')[0]
    listed = client.get("/api/v1/signers").get_json()
    assert listed["kind"] == "external" and listed["signers"][0]["id"] == thumbprint

    failed = client.post(
        f"/appeals/{appeal.id}/signature",
        data={"csrf_token": token, "signer": thumbprint, "passphrase": "0000"},
    )
    assert failed.status_code == 400
    assert (
        "Программа подписи завершилась с ошибкой (код 2): [ErrorCode: 0x8009000b] Wrong PIN"
        in failed.get_data(as_text=True)
    )
    signed = client.post(
        f"/api/v1/appeals/{appeal.id}/signature",
        json={"signer": thumbprint, "passphrase": PASSPHRASE},
        headers={"X-CSRF-Token": token},
    )
    assert signed.status_code == 201, signed.get_json()
    assert signed.get_json()["summary"].startswith("Подпись действительна: Иванова Мария Сергеевна")
    p7s = client.get(f"/api/v1/appeals/{appeal.id}/protocol.p7s").data
    pdf = client.get(f"/appeals/{appeal.id}/signed-protocol.pdf").data
    assert openssl_cms_verify(pdf, p7s, ca.certificate_pem, tmp_path).returncode == 0
