"""«Подписание протокола»: a consultant signs a closed appeal's protocol, the post checks it.

The signed PDF is checked the way others will check it: by poppler (``pdfsig`` with an
NSS database trusting only the centre's CA, ``pdftotext`` for what the page shows) and
by :func:`verify_protocol`, which is what a post runs offline.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from central.documents.protocol_pdf import FONT_DIR, render_protocol_pdf
from central.signing import CentreCA, SignerCredential, SigningError, sign_protocol, verify_protocol
from tests.helpers.signing import (
    CONSULTANT,
    HOSPITAL,
    needs_nss_tools,
    needs_poppler,
    page_count,
    pdfsig,
    pdftotext,
    protocol_document,
    tamper,
    word_boxes,
)

LONG_LINE = "Контроль артериального давления утром и вечером, запись в дневник. "


def stamp_rect(signed: bytes) -> tuple[float, float, float, float]:
    signature = PdfFileReader(io.BytesIO(signed)).embedded_regular_signatures[-1]
    x0, y0, x1, y1 = (float(v) for v in signature.sig_field["/Rect"])
    return x0, y0, x1, y1


def overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@needs_poppler
@needs_nss_tools
def test_poppler_trusts_the_signature_given_only_the_centre_ca(
    signed_pdf: bytes, nss_db: str, tmp_path: Path
) -> None:
    report = pdfsig(nss_db, signed_pdf, tmp_path)

    assert "Signature is Valid" in report
    assert "Certificate is Trusted" in report
    assert "ETSI.CAdES.detached" in report  # PAdES, not the legacy adbe.pkcs7.detached
    assert "Total document signed" in report
    assert CONSULTANT in report


def test_the_post_verifies_the_signed_protocol_offline(
    signed_pdf: bytes, centre_ca: CentreCA, consultant: SignerCredential
) -> None:
    result = verify_protocol(signed_pdf, centre_ca.certificate_pem)

    assert result.valid and result.intact and result.trusted
    assert result.covers_whole_document
    assert result.signer_name == CONSULTANT
    assert result.serial == consultant.serial_hex
    assert result.signed_at is not None
    # Signed once per session (the fixture), so not "just now": within the signer's
    # certificate and not ahead of this moment.
    assert consultant.certificate.not_valid_before_utc <= result.signed_at
    assert result.signed_at <= datetime.now(UTC) + timedelta(minutes=1)
    assert result.summary.startswith(f"Подпись действительна: {CONSULTANT}")
    assert consultant.serial_hex in result.summary


@needs_poppler
def test_the_signed_protocol_keeps_its_text_and_shows_the_stamp(
    protocol_pdf: bytes, signed_pdf: bytes, consultant: SignerCredential, tmp_path: Path
) -> None:
    pages = page_count(signed_pdf, tmp_path)
    assert pages == page_count(protocol_pdf, tmp_path)  # the stamp found room on the last page

    text = pdftotext(signed_pdf, tmp_path)
    assert "Протокол телемедицинской консультации" in text
    assert "Сидоров Иван Петрович" in text
    assert "Лозартан 50 мг утром." in text

    last_page = " ".join(
        pdftotext(signed_pdf, tmp_path, "-f", str(pages), "-l", str(pages)).split()
    )
    assert "Документ подписан электронной подписью" in last_page
    assert f"Владелец: {CONSULTANT}" in last_page
    assert f"Сертификат: {consultant.serial_hex}" in last_page
    assert f"Субъект: {CONSULTANT}, {HOSPITAL}" in last_page
    validity = f"с {consultant.not_before:%d.%m.%Y} по {consultant.not_after:%d.%m.%Y}"
    assert f"Действителен: {validity}" in last_page


@needs_poppler
@pytest.mark.parametrize("paragraphs", [0, 12, 40], ids=["one page", "half page", "long"])
def test_the_stamp_covers_none_of_the_protocol_text(
    paragraphs: int, consultant: SignerCredential, tmp_path: Path
) -> None:
    protocol = render_protocol_pdf(protocol_document(recommendations=LONG_LINE * paragraphs))
    signed = sign_protocol(protocol, consultant, signer_name=CONSULTANT)

    pages = page_count(protocol, tmp_path)
    assert page_count(signed, tmp_path) == pages
    stamp = stamp_rect(signed)
    assert stamp[1] < 842 / 2  # bottom area
    words = word_boxes(protocol, tmp_path, pages)
    assert words
    assert not [word for word in words if overlaps(word, stamp)]


def full_page_pdf() -> bytes:
    """A PDF whose single page is written from the top edge to the bottom edge."""
    pdfmetrics.registerFont(TTFont("DejaVuSans", str(FONT_DIR / "DejaVuSans.ttf")))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, initialFontName="DejaVuSans")
    canvas.setFont("DejaVuSans", 10)
    for number, y in enumerate(range(820, 10, -12), start=1):
        canvas.drawString(40, y, f"Строка {number}: рекомендации консультанта без сокращений")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@needs_poppler
@needs_nss_tools
def test_a_full_last_page_gets_a_new_page_for_the_stamp(
    consultant: SignerCredential, centre_ca: CentreCA, nss_db: str, tmp_path: Path
) -> None:
    original = full_page_pdf()
    signed = sign_protocol(original, consultant, signer_name=CONSULTANT)

    assert page_count(signed, tmp_path) == 2
    assert "Строка 1:" in pdftotext(signed, tmp_path, "-f", "1", "-l", "1")
    assert f"Владелец: {CONSULTANT}" in pdftotext(signed, tmp_path, "-f", "2", "-l", "2")
    # The page is added in the signed revision: the signature covers it.
    assert verify_protocol(signed, centre_ca.certificate_pem).covers_whole_document
    report = pdfsig(nss_db, signed, tmp_path)
    assert "Signature is Valid" in report and "Total document signed" in report


@needs_poppler
@needs_nss_tools
def test_a_changed_byte_is_caught_by_poppler_and_by_the_post(
    signed_pdf: bytes, centre_ca: CentreCA, nss_db: str, tmp_path: Path
) -> None:
    tampered = tamper(signed_pdf)

    report = pdfsig(nss_db, tampered, tmp_path)
    assert "Digest Mismatch" in report
    assert "Signature is Valid" not in report

    result = verify_protocol(tampered, centre_ca.certificate_pem)
    assert not result.intact and not result.valid
    assert result.summary.startswith("Документ изменён после подписания")


@needs_poppler
@needs_nss_tools
def test_a_signature_from_another_centre_is_not_trusted(
    protocol_pdf: bytes, centre_ca: CentreCA, nss_db: str, tmp_path: Path
) -> None:
    elsewhere = CentreCA.open(tmp_path / "elsewhere", "Другой консультативный центр")
    stranger = elsewhere.issue_signer("Петров Пётр Петрович", "Другой центр", None)
    signed = sign_protocol(
        protocol_pdf, stranger, signer_name="Петров П. П.", ca_chain=[elsewhere.certificate]
    )

    result = verify_protocol(signed, centre_ca.certificate_pem)
    assert result.intact and not result.trusted and not result.valid
    assert result.signer_name == "Петров Пётр Петрович"
    assert result.summary.startswith("Сертификат не выдан удостоверяющим центром")

    report = pdfsig(nss_db, signed, tmp_path)
    assert "Signature is Valid" in report  # the bytes are intact…
    assert "Certificate is Trusted" not in report  # …but nobody vouches for the signer
    assert verify_protocol(signed, elsewhere.certificate_pem).valid


def test_a_certificate_that_expired_after_signing_still_verifies(
    protocol_pdf: bytes, centre_ca: CentreCA
) -> None:
    short_lived = centre_ca.issue_signer(CONSULTANT, HOSPITAL, None, valid_days=1)
    signed = sign_protocol(protocol_pdf, short_lived, signer_name=CONSULTANT)

    later = verify_protocol(
        signed, centre_ca.certificate_pem, at=datetime.now(UTC) + timedelta(days=30)
    )

    assert later.valid and later.trusted
    assert "истёк после подписания" in later.summary


def test_an_unsigned_protocol_is_reported_as_unsigned(
    protocol_pdf: bytes, centre_ca: CentreCA
) -> None:
    result = verify_protocol(protocol_pdf, centre_ca.certificate_pem)
    assert not result.valid
    assert result.summary == "Документ не подписан."


@pytest.mark.parametrize(
    "damage",
    [
        lambda pdf: b"",
        lambda pdf: b"%PDF-1.7\nno objects at all\n%%EOF\n",
        lambda pdf: pdf[: len(pdf) // 2],
        lambda pdf: pdf.replace(b"/ByteRange", b"/ByteRanqe"),
        lambda pdf: pdf.replace(b"/Contents <", b"/Contents <00", 1),
    ],
    ids=["empty", "not a pdf", "truncated", "no byte range", "shifted offsets"],
)
def test_a_malformed_file_is_reported_not_raised(
    damage: object, signed_pdf: bytes, centre_ca: CentreCA
) -> None:
    result = verify_protocol(damage(signed_pdf), centre_ca.certificate_pem)  # type: ignore[operator]
    assert not result.valid and not result.trusted
    assert result.summary


def test_a_garbled_signature_is_reported_not_raised(signed_pdf: bytes, centre_ca: CentreCA) -> None:
    start = signed_pdf.index(b"/Contents <") + len(b"/Contents <")
    garbled = signed_pdf[:start] + b"0" * 64 + signed_pdf[start + 64 :]

    result = verify_protocol(garbled, centre_ca.certificate_pem)

    assert not result.valid and not result.intact
    assert result.summary.startswith("Подпись повреждена")


def test_a_broken_ca_certificate_is_reported_not_raised(signed_pdf: bytes) -> None:
    result = verify_protocol(signed_pdf, b"-----BEGIN CERTIFICATE-----\nfoo\n")
    assert not result.valid
    assert "удостоверяющего центра" in result.summary


def test_signing_a_broken_file_explains_itself(consultant: SignerCredential) -> None:
    with pytest.raises(SigningError, match="не является PDF"):
        sign_protocol(b"<html>not a protocol</html>", consultant, signer_name=CONSULTANT)


def test_signing_needs_the_signer_name(protocol_pdf: bytes, consultant: SignerCredential) -> None:
    with pytest.raises(SigningError, match="ФИО подписывающего"):
        sign_protocol(protocol_pdf, consultant, signer_name="   ")
