"""Helpers for the signing tests: a protocol to sign, and poppler's view of the result."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from central.documents.protocol_pdf import ProtocolDocument

CENTRE = "ГБУЗ «Областная клиническая больница» — консультативный центр"
CONSULTANT = "Кузнецова Мария Андреевна"
HOSPITAL = "ГБУЗ «Областная клиническая больница»"
MOSCOW = ZoneInfo("Europe/Moscow")

needs_poppler = pytest.mark.skipif(
    shutil.which("pdfsig") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils (pdfsig, pdftotext) is not installed",
)
needs_nss_tools = pytest.mark.skipif(
    shutil.which("certutil") is None, reason="libnss3-tools (certutil) is not installed"
)


def protocol_document(**changes: object) -> ProtocolDocument:
    """A closed appeal's protocol, as the consultant sends it."""
    fields: dict[str, object] = {
        "appeal_number": "3f2a9c1e",
        "centre_name": CENTRE,
        "post_name": "ФАП с. Верхние Луки",
        "patient_name": "Сидоров Иван Петрович",
        "patient_birth_date": date(1958, 4, 17),
        "patient_sex": "male",
        "patient_snils": "112-233-445 95",
        "patient_enp": "7700000000000000",
        "consultant_name": CONSULTANT,
        "consultant_specialty": "кардиология",
        "feldsher_name": "Петров Алексей Викторович",
        "form_of_care": "плановая",
        "kind": "первичная",
        "created_at": datetime(2025, 3, 10, 9, 5, tzinfo=MOSCOW),
        "slot_at": datetime(2025, 3, 11, 14, 30, tzinfo=MOSCOW),
        "closed_at": datetime(2025, 3, 11, 15, 10, tzinfo=MOSCOW),
        "question": "Давление 170/100 на фоне терапии, головная боль.",
        "anamnesis": "Гипертоническая болезнь 10 лет.\nПринимает эналаприл 10 мг.",
        "recommendations": "Лозартан 50 мг утром.\nЭКГ через 2 недели, контроль калия.",
        "additional_recommendations": "",
        "diagnoses": [("I10", "Эссенциальная [первичная] гипертензия", "основной")],
        "timezone_label": "Europe/Moscow",
    }
    fields.update(changes)
    return ProtocolDocument(**fields)  # type: ignore[arg-type]


def pdfsig(nss_db: str, pdf: bytes, tmp_path: Path) -> str:
    """poppler's report on the PDF's signatures (its exit status says nothing useful)."""
    path = tmp_path / "checked.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdfsig", "-nssdir", nss_db, str(path)], capture_output=True, text=True, timeout=60
    )
    return done.stdout + done.stderr


def pdftotext(pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", *args, str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def page_count(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "count.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("Pages:"))
    return int(line.split()[1])


def tamper(pdf: bytes) -> bytes:
    """Flip one bit inside the first signed byte range, in a stream's data rather than
    in the PDF's structure or the signature's hex."""
    byte_range = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert byte_range is not None
    start, length = int(byte_range[1]), int(byte_range[2])
    position = pdf.index(b"stream\n", start) + len(b"stream\n") + 40
    assert start <= position < start + length
    changed = bytearray(pdf)
    changed[position] ^= 0x01
    return bytes(changed)


def word_boxes(pdf: bytes, tmp_path: Path, page: int) -> list[tuple[float, float, float, float]]:
    """Words on a page as poppler places them: (x0, y0, x1, y1) in PDF space (y up)."""
    html = pdftotext(pdf, tmp_path, "-bbox", "-f", str(page), "-l", str(page))
    height = float(re.search(r'<page width="[\d.]+" height="([\d.]+)"', html)[1])  # type: ignore[index]
    return [
        (float(x0), height - float(y1), float(x1), height - float(y0))
        for x0, y0, x1, y1 in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', html
        )
    ]
