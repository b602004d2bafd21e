"""The appeal page at central shows the post's exam with its vitals and chart, and previews the files."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from domain.models import Attachment, AttachmentKind
from tests.helpers.appeals import login_page, new_appeal
from tests.kiosk import samples

from .exam_data import FILES, attach_files, exam, post_exams


def test_the_consultant_sees_the_exam_sent_with_the_appeal_and_the_vitals_over_time(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = new_appeal(data)
    post_exams(appeal)
    client = app.test_client()
    login_page(client, "ivanova")
    html = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    section = html[html.index('id="exam"') :]
    assert "Обследование" in section and "отправлено с обращением" in section
    assert "Головная боль, мушки перед глазами" in section and "Состояние средней тяжести" in section
    assert re.search(r"Систолическое АД</td><td>182 мм рт. ст.", section)
    assert re.search(r"SpO2</td><td>95 %", section)
    # 182 is past the threshold the kiosk warned about: the consultant sees the same flag.
    flags = re.search(r'<div class="red-flags" role="alert">(.*?)</div>', section, re.S)
    assert flags and "Опасные значения показателей" in flags.group(1)
    assert "Систолическое АД 182 мм рт. ст. — 180 и выше" in flags.group(1)
    assert "SpO2" not in flags.group(1)
    assert "Петрова Анна Ивановна" in section and "ФАП д. Медное" in section
    # The month-old exam is not listed, but its values are in the chart.
    assert "Плановый осмотр" not in section
    assert "Динамика показателей" in html
    assert html.count('class="vital-chart"') == 4  # systolic, diastolic, pulse, SpO2
    chart = re.search(r'<svg class="vital-chart"[^>]*aria-label="Систолическое АД.*?</svg>', html, re.S)
    assert chart and chart.group(0).count("<circle") == 2 and ">182<" in chart.group(0)


def test_a_later_exam_of_the_patient_is_shown_above_the_one_sent(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = new_appeal(data)
    post_exams(appeal)
    exam(appeal, timedelta(minutes=5), {"8867-4": 120.0}, sent=False, complaints="Сердцебиение")
    client = app.test_client()
    login_page(client, "ivanova")
    section = client.get(f"/appeals/{appeal.id}").get_data(as_text=True).split('id="exam"', 1)[1]
    assert section.index("последнее обследование пациента") < section.index("отправлено с обращением")
    assert "Сердцебиение" in section and "Плановый осмотр" not in section
    later = section.split("последнее обследование пациента", 1)[1].split("<article", 1)[0]
    assert "red-flags" not in later  # pulse 120 is not past «чаще 120»


def test_without_an_exam_the_section_says_so(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = new_appeal(data)
    client = app.test_client()
    login_page(client, "ivanova")
    html = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "На ФАПе пациента ещё не обследовали" in html and "vital-chart" not in html


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("анализ.docx", "<p>Общий анализ крови: гемоглобин 128 г/л</p>"),
        ("глюкоза.xlsx", "<td>7.4</td>"),
        ("УЗИ.txt", "Заключение УЗИ: без патологии"),
        ("ЭКГ.pdf", '<iframe class="pdf" src="/appeals/'),
        ("снимок.png", '<img src="/appeals/'),
    ],
)
def test_every_file_of_the_appeal_opens_in_the_page(central_app, name: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = new_appeal(data)
    attachment = attach_files(app, appeal, (name,))[name]
    client = app.test_client()
    login_page(client, "ivanova")
    listing = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    preview_url = f"/appeals/{appeal.id}/files/{attachment.id}/preview"
    assert f'href="{preview_url}"' in listing  # the file list links to the preview
    page = client.get(preview_url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and expected in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>alert" not in html and "<b>не разметка</b>" not in html
    assert f'href="/appeals/{appeal.id}/files/{attachment.id}"' in html  # «Скачать»
    raw = client.get(f"/appeals/{appeal.id}/files/{attachment.id}/inline")
    assert raw.data == FILES[name][0] and raw.headers["X-Content-Type-Options"] == "nosniff"
    inline = name.endswith((".pdf", ".png", ".txt"))
    assert raw.headers["Content-Disposition"].startswith("inline" if inline else "attachment")


def test_an_old_word_file_is_offered_for_download(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = new_appeal(data)
    blobs = app.extensions["blobs"]
    old = Attachment.create(
        appeal=appeal,
        kind=AttachmentKind.FILE,
        filename="старый.doc",
        content_type="application/msword",
        size=len(samples.doc()),
        sha256=blobs.put(samples.doc()),
        uploaded_by=appeal.author_id,
    )
    client = app.test_client()
    login_page(client, "ivanova")
    html = client.get(f"/appeals/{appeal.id}/files/{old.id}/preview").get_data(as_text=True)
    assert "Предпросмотр файлов DOC недоступен" in html and "Скачать" in html


def test_a_consultant_outside_the_appeal_cannot_preview_its_files(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = new_appeal(data)  # to Иванова, cardiology
    attachment = attach_files(app, appeal, ("анализ.docx",))["анализ.docx"]
    client = app.test_client()
    login_page(client, "sokolova")  # endocrinology
    for tail in ("", "/preview", "/inline"):
        response = client.get(f"/appeals/{appeal.id}/files/{attachment.id}{tail}")
        assert response.status_code == 404, tail
        assert "гемоглобин" not in response.get_data(as_text=True)
    # Nor through an appeal of theirs: the file must belong to the appeal named.
    own = new_appeal(data, "sokolova")
    assert client.get(f"/appeals/{own.id}/files/{attachment.id}/preview").status_code == 404
    assert "Головная боль" not in client.get(f"/appeals/{appeal.id}").get_data(as_text=True)


def test_a_file_whose_bytes_have_not_arrived_yet_says_so(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = new_appeal(data)
    pending = Attachment.create(
        appeal=appeal,
        kind=AttachmentKind.FILE,
        filename="ЭКГ.pdf",
        content_type="application/pdf",
        size=1000,
        sha256="a" * 64,
        uploaded_by=appeal.author_id,
    )
    client = app.test_client()
    login_page(client, "ivanova")
    page = client.get(f"/appeals/{appeal.id}/files/{pending.id}/preview")
    assert page.status_code == 404
    assert "Файл придёт с ближайшей синхронизацией поста" in page.get_data(as_text=True)
