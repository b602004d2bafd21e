"""Previews in the browser: images and PDF as they are, TXT as text, DOCX and XLSX as HTML.

Both the kiosk and central show attached files with these. DOC and XLS (old
binary Office formats) have no converter here: the page offers the download
with a note. Converted HTML keeps no scripts or active links, and preview
pages carry `PREVIEW_CSP` so that none would run anyway.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from urllib.parse import quote

from flask import Flask, Response
from flask_babel import gettext
from markupsafe import Markup, escape

from .uploads import DOC, DOCX, JPEG, PDF, PNG, TXT, XLS, XLSX, FileKind

__all__ = ["Preview", "preview", "file_response", "file_label", "PREVIEW_CSP", "init_previews"]

MAX_TEXT = 200_000
MAX_ROWS, MAX_COLS = 500, 50

#: Converted documents may carry markup, never scripts; the app's own scripts come from 'self'.
PREVIEW_CSP = (
    "default-src 'self'; script-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    # The preview opens in a dialog's frame on the app's own page, and nowhere else.
    "frame-ancestors 'self'"
)
#: The file's own bytes, shown inside that preview (a PDF in its frame, an image): framed by
#: the app's pages only; nothing else about them needs allowing.
FILE_CSP = "frame-ancestors 'self'"

#: Kinds a browser shows by itself (an <img> or the PDF viewer), so they may be served inline.
_INLINE = (JPEG, PNG, PDF, TXT)


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
    """How to show these bytes in a page."""
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
                "Предпросмотр файлов %(kind)s недоступен: скачайте файл, чтобы открыть его",
                kind=kind.label,
            ),
        )
    return Preview("download", note=gettext("Этот тип файла нельзя показать: скачайте его"))


def file_response(data: bytes, filename: str, kind: FileKind | None, *, download: bool) -> Response:
    """The file's bytes typed by their content; inline only for what a browser shows by itself."""
    disposition = "inline" if not download and kind in _INLINE else "attachment"
    content_type = kind.content_type if kind else "application/octet-stream"
    return Response(
        data,
        mimetype=content_type.split(";")[0],
        content_type=content_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(filename)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": FILE_CSP,
        },
    )


def file_label(content_type: str) -> str:
    """PDF, DOCX, JPEG… rather than a MIME type."""
    for kind in (PDF, JPEG, PNG, DOC, XLS, DOCX, XLSX, TXT):
        if kind.content_type.split(";")[0] == (content_type or "").split(";")[0]:
            return kind.label
    return content_type


def init_previews(app: Flask) -> None:
    """The template filter `file_label`."""
    app.jinja_env.filters["file_label"] = file_label
