"""Previews inside the kiosk: images and PDF as they are, TXT as text, DOCX and XLSX as HTML.

DOC and XLS (old binary Office formats) have no converter here: the page offers
the download with a note. Converted HTML keeps no scripts or active links.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from flask_babel import gettext
from markupsafe import Markup, escape

from faplink.web.uploads import DOC, DOCX, JPEG, PDF, PNG, TXT, XLS, XLSX, FileKind

__all__ = ["Preview", "preview"]

MAX_TEXT = 200_000
MAX_ROWS, MAX_COLS = 500, 50


@dataclass
class Preview:
    mode: str  # image | pdf | text | html | download
    html: Markup = Markup("")
    note: str = ""


def _text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


_ACTIVE = re.compile(r"\s(href|src)=\"(?!(?:https?:|#|data:image/))[^\"]*\"", re.IGNORECASE)


def _docx(data: bytes) -> Markup:
    import mammoth

    result = mammoth.convert_to_html(io.BytesIO(data))
    # mammoth escapes the text; only links could point somewhere unwanted (javascript:, file:).
    return Markup(_ACTIVE.sub("", result.value))


def _xlsx(data: bytes) -> Markup:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    parts: list[str] = []
    try:
        for sheet in book.worksheets:
            parts.append(f'<h3>{escape(sheet.title)}</h3><table class="sheet">')
            for n, row in enumerate(sheet.iter_rows(values_only=True)):
                if n >= MAX_ROWS:
                    parts.append(
                        f"<tr><td>{escape(gettext('… показаны первые %(n)s строк', n=MAX_ROWS))}</td></tr>"
                    )
                    break
                cells = "".join(f"<td>{escape('' if v is None else v)}</td>" for v in row[:MAX_COLS])
                parts.append(f"<tr>{cells}</tr>")
            parts.append("</table>")
    finally:
        book.close()
    return Markup("".join(parts))


def preview(data: bytes, kind: FileKind | None) -> Preview:
    """How to show these bytes in the kiosk."""
    if kind in (JPEG, PNG):
        return Preview("image")
    if kind == PDF:
        return Preview("pdf")
    if kind == TXT:
        text = _text(data)
        note = gettext("Показано начало файла") if len(text) > MAX_TEXT else ""
        return Preview("text", Markup(escape(text[:MAX_TEXT])), note)
    if kind in (DOCX, XLSX):
        try:
            html = _docx(data) if kind == DOCX else _xlsx(data)
        except Exception:  # a damaged document must not break the page: offer the file instead
            return Preview(
                "download", note=gettext("Не удалось показать документ: скачайте файл и откройте его")
            )
        return Preview("html", html)
    if kind in (DOC, XLS):
        return Preview(
            "download",
            note=gettext(
                "Предпросмотр файлов %(kind)s в киоске недоступен: скачайте файл, чтобы открыть его",
                kind=kind.label,
            ),
        )
    return Preview("download", note=gettext("Этот тип файла нельзя показать: скачайте его"))
