"""Files and photos: checked by content with clear refusals, previewed inside the kiosk."""

from __future__ import annotations

import io

import pytest

from domain.models import Attachment, AttachmentKind
from tests.helpers.data import rows
from tests.kiosk import samples
from web.uploads import MAX_UPLOAD


def _exam(client, token, patient):  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/v1/patients/{patient}/exams",
        json={"objective_status": "Кожные покровы чистые"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 201
    return response.get_json()["id"]


def _send(client, token, url, name, data, kind="file"):  # type: ignore[no-untyped-def]
    return client.post(
        url,
        data={"file": (io.BytesIO(data), name), "kind": kind},
        headers={"X-CSRF-Token": token},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("ЭКГ.pdf", samples.pdf(), '<iframe class="pdf"'),
        ("снимок.png", samples.png(), "<img src="),
        ("УЗИ.txt", samples.txt(), "Заключение УЗИ: без патологии"),
        ("анализ.docx", samples.docx(), "<p>Общий анализ крови: гемоглобин 128 г/л</p>"),
        ("глюкоза.xlsx", samples.xlsx(), "<td>7.4</td>"),
        ("старый.doc", samples.doc(), "Предпросмотр файлов DOC недоступен"),
    ],
)
def test_every_type_is_previewed_inside_the_kiosk(feldsher, name, data, expected) -> None:  # type: ignore[no-untyped-def]
    client, token, demo = feldsher
    exam = _exam(client, token, demo.patients["Кузьмин Пётр Васильевич@1"])
    response = _send(client, token, f"/api/v1/exams/{exam}/attachments", name, data)
    assert response.status_code == 201, response.get_json()
    attachment = response.get_json()["id"]
    page = client.get(f"/attachments/{attachment}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and expected in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>alert" not in html and "<b>не разметка</b>" not in html
    raw = client.get(f"/attachments/{attachment}/file")
    assert raw.data == data
    assert (
        client.get(f"/attachments/{attachment}/file?download=1")
        .headers["Content-Disposition"]
        .startswith("attachment")
    )
    # The exam page lists it with its preview link.
    assert f"/attachments/{attachment}" in client.get(f"/exams/{exam}").get_data(as_text=True)


def test_a_photo_from_the_webcam_is_filed_as_a_photo(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, demo = feldsher
    exam = _exam(client, token, demo.patients["Кузьмин Пётр Васильевич@1"])
    response = _send(
        client,
        token,
        f"/api/v1/exams/{exam}/attachments",
        "photo.jpg",
        b"\xff\xd8\xff\xe0" + b"\x00" * 64,
        "photo",
    )
    assert response.status_code == 201
    stored = Attachment.get_by_id(response.get_json()["id"])
    assert stored.kind == AttachmentKind.PHOTO and stored.filename.startswith("Фото ")
    assert stored.exam_id == exam and stored.content_type == "image/jpeg"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("анализ.pdf", samples.png(), "на самом деле PNG: содержимое не совпадает с расширением"),
        ("program.exe", b"MZ\x90\x00\x03" + b"\x00" * 100, "не поддерживается"),
        ("пустой.txt", b"", "пустой"),
        ("большой.pdf", b"%PDF-1.4\n" + b"0" * MAX_UPLOAD, "больше 20 МБ"),
    ],
)
def test_a_file_that_is_not_what_it_says_or_too_big_is_refused_and_nothing_stored(
    feldsher, node_app, name, data, message
) -> None:  # type: ignore[no-untyped-def]
    client, token, demo = feldsher
    exam = _exam(client, token, demo.patients["Кузьмин Пётр Васильевич@1"])
    blobs = node_app[0].extensions["blobs"]
    before = sorted(p.name for p in blobs.root.rglob("*") if p.is_file())
    for url in (f"/api/v1/exams/{exam}/attachments", "/api/v1/files"):
        response = _send(client, token, url, name, data)
        assert response.status_code == 400
        assert message in response.get_json()["message"]
    page = client.post(
        f"/exams/{exam}/attachments",
        data={"file": (io.BytesIO(data), name), "csrf_token": token},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert message in page.get_data(as_text=True)
    assert rows(Attachment) == 0
    assert sorted(p.name for p in blobs.root.rglob("*") if p.is_file()) == before


def test_a_staged_file_is_previewed_before_the_appeal_exists(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, _ = feldsher
    staged = _send(client, token, "/api/v1/files", "анализ.docx", samples.docx())
    assert staged.status_code == 201
    body = staged.get_json()
    assert body["kind"] == "file" and body["size"] == len(samples.docx())
    page = client.get(body["preview_url"] + "&embed=1").get_data(as_text=True)
    assert "гемоглобин 128 г/л" in page and "node/layout" not in page and 'class="topbar"' not in page
    assert rows(Attachment) == 0
