"""The post checks the signed protocol offline, against the centre's CA certificate it synced."""

from __future__ import annotations

from typing import Any

import pytest

from central.documents.protocol_pdf import render_protocol_pdf
from central.signing import CentreCA, SignerCredential, sign_protocol
from domain.booking import book_appeal
from domain.models import Appeal, Attachment, AttachmentKind, Organization, Patient, Protocol, Staff
from node.signed_protocol import bp as signatures_bp
from sync.db import CENTRAL
from tests.helpers.appeals import PATIENT
from tests.helpers.signing import protocol_document, tamper
from tests.helpers.web import login


@pytest.fixture(scope="session")
def signed_pdf(centre_ca: CentreCA, ivanova_key: SignerCredential) -> bytes:
    pdf = render_protocol_pdf(protocol_document(consultant_name="Иванова Мария Сергеевна"))
    return sign_protocol(
        pdf, ivanova_key, signer_name="Иванова Мария Сергеевна", ca_chain=[centre_ca.certificate]
    )


@pytest.fixture
def post(node_app):  # type: ignore[no-untyped-def]
    """Post 1's node with the signature blueprint (the lead registers it in node's factory)."""
    app, data = node_app
    if "signatures" not in app.blueprints:
        app.register_blueprint(signatures_bp)
    return app, data


def _closed_appeal(data: Any) -> Appeal:
    """A closed appeal with its protocol, as the post has it after a pull."""
    doctor = Staff.get_by_id(data.consultants["ivanova"])
    appeal = book_appeal(
        consent_by="patient",  # the ИДС to the consultation
        patient=Patient.get_by_id(data.patients[PATIENT]),
        author=Staff.get(Staff.organization == data.posts[0][0]),
        specialty=doctor.specialty,
        consultant=doctor,
        slot=None,
        form_of_care="urgent",
        question="Давление 170/100 на фоне терапии",
    )
    appeal.take_in_work(doctor)
    Protocol.send(appeal, doctor, anamnesis="", recommendations="Лозартан 50 мг утром")
    return Appeal.get_by_id(appeal.id)


def _receive(app: Any, appeal: Appeal, pdf: bytes | None, size: int = 0) -> None:
    """The signed protocol's record arrives; its bytes too unless ``pdf`` is None."""
    sha = app.extensions["blobs"].put(pdf) if pdf is not None else "ab" * 32
    Attachment.create(
        origin=CENTRAL,  # as a pull delivers it: only central's signed protocol counts
        appeal=appeal,
        kind=AttachmentKind.SIGNED_PROTOCOL,
        filename=f"protocol-{appeal.id[:8]}-signed.pdf",
        content_type="application/pdf",
        size=len(pdf) if pdf is not None else size,
        sha256=sha,
    )


def _publish_ca(data: Any, centre_ca: CentreCA) -> None:
    centre = Organization.get_by_id(data.centre_id)
    centre.ca_certificate = centre_ca.certificate_pem.decode()
    centre.save()


def _page(app: Any, appeal: Appeal) -> str:
    client = app.test_client()
    login(client, "fap1")
    response = client.get(f"/appeals/{appeal.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_valid_signature_is_shown_and_downloadable(post, centre_ca, signed_pdf) -> None:  # type: ignore[no-untyped-def]
    app, data = post
    appeal = _closed_appeal(data)
    _publish_ca(data, centre_ca)
    _receive(app, appeal, signed_pdf)
    client = app.test_client()
    login(client, "fap1")
    html = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "Электронная подпись протокола" in html
    assert "Подпись действительна: Иванова Мария Сергеевна" in html and "flash-success" in html
    assert "Скачать подписанный протокол" in html
    download = client.get(f"/appeals/{appeal.id}/signed-protocol.pdf")
    assert download.status_code == 200 and download.data == signed_pdf


def test_a_tampered_signed_protocol_is_reported(post, centre_ca, signed_pdf) -> None:  # type: ignore[no-untyped-def]
    app, data = post
    appeal = _closed_appeal(data)
    _publish_ca(data, centre_ca)
    _receive(app, appeal, tamper(signed_pdf))
    html = _page(app, appeal)
    assert "Документ изменён после подписания" in html and "flash-error" in html
    assert "Подпись действительна" not in html


def test_without_the_centre_certificate_nothing_is_trusted(post, signed_pdf) -> None:  # type: ignore[no-untyped-def]
    app, data = post
    appeal = _closed_appeal(data)
    _receive(app, appeal, signed_pdf)
    html = _page(app, appeal)
    assert "Сертификат удостоверяющего центра ещё не получен" in html
    assert "Подпись действительна" not in html


def test_the_signed_file_not_yet_here(post, centre_ca) -> None:  # type: ignore[no-untyped-def]
    app, data = post
    appeal = _closed_appeal(data)
    _publish_ca(data, centre_ca)
    _receive(app, appeal, None, size=123_456)
    html = _page(app, appeal)
    assert "Подписанный протокол придёт с ближайшей синхронизацией" in html
    client = app.test_client()
    login(client, "fap1")
    assert client.get(f"/appeals/{appeal.id}/signed-protocol.pdf").status_code == 404


def test_an_unsigned_closed_appeal_shows_no_signature(post) -> None:  # type: ignore[no-untyped-def]
    app, data = post
    appeal = _closed_appeal(data)
    assert "Электронная подпись протокола" not in _page(app, appeal)
