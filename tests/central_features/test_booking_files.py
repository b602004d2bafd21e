"""Files in «Запись на консультацию» from «Маршрутизация»: checked, staged for the review, filed
with the new appeal in the booking's transaction, and pulled by the post with their bytes."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
from typing import Any

import pytest

from domain.booking import book_appeal
from domain.models import Appeal, Attachment, AttachmentKind, Staff
from sync.request_signing import NodeKey, signed_headers
from sync.server import register_node
from tests.helpers.appeals import in_work
from tests.helpers.data import future_slot, rows
from tests.kiosk import samples

NODE = "kiosk-booking-files"


def _fields(token: str, doctor: Staff, **extra: Any) -> dict[str, Any]:
    return {
        "csrf_token": token,
        "consultant": doctor.id,
        "slot": future_slot(doctor).id,
        "question": "Контроль АД и ЭКГ через неделю",
        "consent_by": "patient",
        **extra,
    }


def _attached(page: str) -> str:
    match = re.search(r'name="attached" value="([^"]*)"', page)
    assert match, "the page carries no attached files"
    return match.group(1)


@pytest.fixture
def routed(central_app):  # type: ignore[no-untyped-def]
    """Ivanova has an appeal in work; her client is logged in; Smirnov is the doctor to book."""
    app, data = central_app
    client = app.test_client()
    appeal, token = in_work(client, data)
    return app, data, client, appeal, token, Staff.get_by_id(data.consultants["smirnov"])


def test_files_are_staged_for_the_review_and_filed_with_the_new_appeal(routed) -> None:  # type: ignore[no-untyped-def]
    app, data, client, appeal, token, smirnov = routed
    url = f"/appeals/{appeal.id}/routing/booking"
    ecg, sugar = samples.pdf("ECG 12 leads"), samples.xlsx()
    review = client.post(
        url,
        data=_fields(token, smirnov, step="review")
        | {"files": [(io.BytesIO(ecg), "ЭКГ.pdf"), (io.BytesIO(sugar), "глюкоза.xlsx")]},
        content_type="multipart/form-data",
    )
    page = review.get_data(as_text=True)
    assert review.status_code == 200 and "Проверьте данные обращения" in page
    assert "ЭКГ.pdf" in page and "глюкоза.xlsx" in page
    assert rows(Attachment) == 0 and Appeal.select().count() == 1  # nothing filed before «создать»

    created = client.post(url, data=_fields(token, smirnov, step="create", attached=_attached(page)))
    assert created.status_code == 302, created.get_data(as_text=True)
    booked = Appeal.get((Appeal.id != appeal.id) & (Appeal.consultant == smirnov.id))
    files = {a.filename: a for a in Attachment.select().where(Attachment.appeal == booked.id)}
    assert set(files) == {"ЭКГ.pdf", "глюкоза.xlsx"}
    pdf = files["ЭКГ.pdf"]
    assert pdf.kind == AttachmentKind.FILE and pdf.content_type == "application/pdf" and pdf.size == len(ecg)
    assert pdf.uploaded_by_id == data.consultants["ivanova"]
    assert app.extensions["blobs"].read(pdf.sha256) == ecg

    # The post pulls the new appeal with its files, and may fetch their bytes.
    key = NodeKey.generate()
    register_node(NODE, booked.post_id, key.public_hex)
    path = "/sync/v1/pull?cursor=0&limit=1000"
    answer = client.get(path, headers=signed_headers(key, NODE, "GET", path, b""))
    raw = gzip.decompress(answer.data) if answer.headers.get("Content-Encoding") == "gzip" else answer.data
    pulled = json.loads(raw)
    sent = {r["id"] for r in pulled["records"] if r["model"] == "attachment"}
    assert {pdf.id, files["глюкоза.xlsx"].id} <= sent
    blob = f"/sync/v1/blobs/{pdf.sha256}?offset=0&length=1000000"
    fetched = client.get(blob, headers=signed_headers(key, NODE, "GET", blob, b""))
    assert fetched.status_code == 200 and fetched.data == ecg


def test_a_bad_file_is_refused_by_name_and_nothing_is_written(routed) -> None:  # type: ignore[no-untyped-def]
    app, _, client, appeal, token, smirnov = routed
    url = f"/appeals/{appeal.id}/routing/booking"
    before = (rows(Appeal), rows(Attachment), sorted(p.name for p in _blob_files(app)))
    for name, data, reason in (
        ("снимок.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "не поддерживается"),
        ("выписка.pdf", samples.png(), "на самом деле PNG"),
        ("пустой.pdf", b"", "пустой"),
    ):
        answer = client.post(
            url,
            data=_fields(token, smirnov, step="review")
            | {"files": [(io.BytesIO(samples.pdf()), "ЭКГ.pdf"), (io.BytesIO(data), name)]},
            content_type="multipart/form-data",
        )
        page = answer.get_data(as_text=True)
        assert answer.status_code == 400, name
        assert f"Файл «{name}»" in page and reason in page
        assert "Проверьте данные обращения" not in page
    # Not even the good file of the refused form was kept.
    assert (rows(Appeal), rows(Attachment), sorted(p.name for p in _blob_files(app))) == before
    assert not app.extensions["blobs"].has(hashlib.sha256(samples.pdf()).hexdigest())


def test_a_forged_or_anothers_file_list_is_refused(routed, central_app) -> None:  # type: ignore[no-untyped-def]
    _, data, client, appeal, token, smirnov = routed
    url = f"/appeals/{appeal.id}/routing/booking"
    review = client.post(
        url,
        data=_fields(token, smirnov, step="review") | {"files": [(io.BytesIO(samples.pdf()), "ЭКГ.pdf")]},
        content_type="multipart/form-data",
    )
    carried = _attached(review.get_data(as_text=True))
    before = rows(Appeal)
    forged = client.post(url, data=_fields(token, smirnov, step="create", attached=carried[:-4] + "AAAA"))
    assert forged.status_code == 400
    assert "Список файлов повреждён: прикрепите файлы снова" in forged.get_data(as_text=True)
    assert rows(Appeal) == before and rows(Attachment) == 0

    # Another consultant cannot spend Ivanova's list either.
    other = central_app[0].test_client()
    other_appeal, other_token = in_work(other, data, "kuznetsova")
    answer = other.post(
        f"/appeals/{other_appeal.id}/routing/booking",
        data=_fields(other_token, smirnov, step="create", attached=carried),
    )
    assert answer.status_code == 400 and "Список файлов повреждён" in answer.get_data(as_text=True)


def test_a_slot_taken_before_create_leaves_no_appeal_and_no_file_and_keeps_the_list(routed) -> None:  # type: ignore[no-untyped-def]
    _, data, client, appeal, token, smirnov = routed
    url = f"/appeals/{appeal.id}/routing/booking"
    fields = _fields(token, smirnov)
    review = client.post(
        url,
        data=fields | {"step": "review", "files": [(io.BytesIO(samples.docx()), "анализ.docx")]},
        content_type="multipart/form-data",
    )
    carried = _attached(review.get_data(as_text=True))
    # Someone else books the same slot meanwhile.
    book_appeal(
        patient=appeal.patient,
        author=appeal.author,
        specialty=smirnov.specialty,
        consultant=smirnov,
        slot=future_slot(smirnov),
        form_of_care="planned",
        question="Другой пациент",
        consent_by="patient",
    )
    before = rows(Appeal)
    refused = client.post(url, data=fields | {"step": "create", "attached": carried})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Выберите свободные дату и время" in page
    assert rows(Appeal) == before and rows(Attachment) == 0
    assert "анализ.docx" in page and _attached(page)  # the file stays attached to the form


def test_too_many_files_are_refused(routed) -> None:  # type: ignore[no-untyped-def]
    _, _, client, appeal, token, smirnov = routed
    uploads = [(io.BytesIO(samples.pdf(f"page {n}")), f"скан {n}.pdf") for n in range(11)]
    answer = client.post(
        f"/appeals/{appeal.id}/routing/booking",
        data=_fields(token, smirnov, step="review") | {"files": uploads},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 400
    assert "К обращению можно приложить не больше 10 файлов" in answer.get_data(as_text=True)


def _blob_files(app: Any) -> list[Any]:
    from pathlib import Path

    root = Path(app.config["DATA_DIR"])
    return [p for p in root.rglob("*") if p.is_file() and re.fullmatch(r"[0-9a-f]{64}", p.name)]
