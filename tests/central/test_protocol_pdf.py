"""The consultation protocol PDF: what the post prints and files after a consultation.

The PDF is read back with poppler's own tools (pdftotext, pdfinfo, pdffonts), the
way a post's viewer would see it, rather than by inspecting reportlab's objects.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from central.documents.protocol_pdf import ProtocolDocument, render_protocol_pdf

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed"
)

MOSCOW = ZoneInfo("Europe/Moscow")
LONG_LINE = "Контроль артериального давления утром и вечером, запись в дневник. "


def protocol(**changes: Any) -> ProtocolDocument:
    doc = ProtocolDocument(
        appeal_number="3f2a9c1e",
        centre_name="ГБУЗ «Областная клиническая больница» — консультативный центр",
        post_name="ФАП с. Верхние Луки",
        patient_name="Сидоров Иван Петрович",
        patient_birth_date=date(1958, 4, 17),
        patient_sex="male",
        patient_snils="112-233-445 95",
        patient_enp="7700000000000000",
        consultant_name="Кузнецова Мария Андреевна",
        consultant_specialty="кардиология",
        feldsher_name="Петров Алексей Викторович",
        form_of_care="плановая",
        kind="первичная",
        created_at=datetime(2025, 3, 10, 9, 5, tzinfo=MOSCOW),
        slot_at=datetime(2025, 3, 11, 14, 30, tzinfo=MOSCOW),
        closed_at=datetime(2025, 3, 11, 15, 10, tzinfo=MOSCOW),
        question="Давление 170/100 <script>alert(1)</script> на фоне терапии & головная боль.",
        anamnesis="Гипертоническая болезнь 10 лет.\nПринимает эналаприл 10 мг.",
        recommendations="Лозартан 50 мг утром.\nЭКГ через 2 недели & контроль K+ <5,0>.",
        additional_recommendations="",
        diagnoses=[("I10", "Эссенциальная [первичная] гипертензия", "основной")],
        timezone_label="Europe/Moscow",
    )
    return dataclasses.replace(doc, **changes)


def write(tmp_path: Path, doc: ProtocolDocument, name: str = "protocol.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(render_protocol_pdf(doc))
    return path


def poppler(tool: str, *args: str | Path) -> str:
    return subprocess.run(
        [tool, *map(str, args)], check=True, capture_output=True, text=True
    ).stdout


def text_of(pdf: Path) -> str:
    return poppler("pdftotext", "-layout", pdf, "-")


def page_count(pdf: Path) -> int:
    match = re.search(r"^Pages:\s+(\d+)$", poppler("pdfinfo", pdf), re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def test_protocol_reads_in_russian(tmp_path: Path) -> None:
    text = text_of(write(tmp_path, protocol()))

    for phrase in (
        "Протокол телемедицинской консультации",
        "Обращение № 3f2a9c1e",
        "Сидоров Иван Петрович",
        "17.04.1958",
        "мужской",
        "112-233-445 95",
        "ФАП с. Верхние Луки",
        "Кузнецова Мария Андреевна",
        "кардиология",
        "Петров Алексей Викторович",
        "плановая",
        "первичная",
        "11.03.2025 14:30 (Europe/Moscow)",
        "Вопрос консультанту",
        "Анамнез",
        "Рекомендации",
        "Дополнительные рекомендации",
        "Диагнозы (МКБ-10)",
        "I10",
        "Эссенциальная [первичная] гипертензия",
        "Страница 1 из 1",
        "Сформировано в faplink",
    ):
        assert phrase in text, phrase


def test_markup_in_user_text_is_printed_not_interpreted(tmp_path: Path) -> None:
    text = text_of(write(tmp_path, protocol()))

    assert "<script>alert(1)</script> на фоне терапии & головная боль." in text
    assert "& контроль K+ <5,0>." in text


def test_line_breaks_in_user_text_are_kept(tmp_path: Path) -> None:
    lines = [line.strip() for line in text_of(write(tmp_path, protocol())).splitlines()]

    assert "Лозартан 50 мг утром." in lines
    assert "ЭКГ через 2 недели & контроль K+ <5,0>." in lines


def test_missing_data_is_said_in_words(tmp_path: Path) -> None:
    doc = protocol(slot_at=None, patient_snils="", diagnoses=[], additional_recommendations="")
    text = text_of(write(tmp_path, doc))

    assert "не назначено" in text
    assert "не указан" in text
    assert "не указаны" in text
    assert "не заполнено" in text


def test_long_recommendations_flow_across_pages(tmp_path: Path) -> None:
    long_text = "\n".join(f"{n}. {LONG_LINE * 3}" for n in range(1, 121))
    pdf = write(tmp_path, protocol(recommendations=long_text))

    pages = page_count(pdf)
    assert pages >= 3
    text = text_of(pdf)
    assert f"Страница {pages} из {pages}" in text
    # The last recommendation is not lost past page one.
    assert "120. Контроль артериального давления" in text
    assert text.index("Диагнозы (МКБ-10)") < text.index("120. Контроль")
    assert "I10" in text


def test_diagnoses_come_before_the_recommendations_each_with_its_role(tmp_path: Path) -> None:
    diagnoses = [
        ("J18.9", "Пневмония неуточненная", "основной"),
        ("J90", "Плевральный выпот, не классифицированный в других рубриках", "осложнение основного"),
        ("I10", "Эссенциальная [первичная] гипертензия", "сопутствующий"),
    ]
    text = text_of(write(tmp_path, protocol(diagnoses=diagnoses)))
    lines = [" ".join(line.split()) for line in text.splitlines()]

    assert "Основной J18.9 Пневмония неуточненная" in lines
    assert any(line.startswith("Осложнение основного J90 Плевральный выпот") for line in lines)
    assert "Сопутствующий I10 Эссенциальная [первичная] гипертензия" in lines
    assert text.index("Анамнез") < text.index("Диагнозы (МКБ-10)") < text.index("Рекомендации")
    assert text.index("Пневмония неуточненная") < text.index("Лозартан 50 мг")


def test_dejavu_is_embedded_so_cyrillic_shows_without_system_fonts(tmp_path: Path) -> None:
    listing = poppler("pdffonts", write(tmp_path, protocol()))

    dejavu = [line for line in listing.splitlines() if "DejaVuSans" in line]
    assert dejavu
    # Columns: name type encoding emb sub uni object-id; "emb" must be "yes".
    assert all(line.split()[-5] == "yes" for line in dejavu), listing
    assert "Helvetica" not in listing


def test_pdf_metadata_names_the_protocol(tmp_path: Path) -> None:
    info = poppler("pdfinfo", write(tmp_path, protocol()))

    assert "Протокол телемедицинской консультации № 3f2a9c1e" in info
    assert "Кузнецова Мария Андреевна" in info
    assert "ФАП с. Верхние Луки" in info


def test_same_protocol_gives_same_bytes() -> None:
    assert render_protocol_pdf(protocol()) == render_protocol_pdf(protocol())
