"""The telemedicine consultation protocol rendered as an A4 PDF.

The caller gathers everything the protocol shows into a :class:`ProtocolDocument`
(labels already in Russian, datetimes already in the reader's zone), and
:func:`render_protocol_pdf` turns it into PDF bytes. DejaVu Sans ships next to this
module and is embedded in every PDF, because reportlab's built-in fonts have no
Cyrillic and a post's machine may have no system fonts at all.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

__all__ = ["FONT_DIR", "ProtocolDocument", "render_protocol_pdf"]

FONT_DIR = Path(__file__).parent / "fonts"
_FONT = "DejaVuSans"
_FONT_BOLD = "DejaVuSans-Bold"
_TITLE = "Протокол телемедицинской консультации"
_SEX_LABELS = {"male": "мужской", "female": "женский"}
_MARGIN = 18 * mm


@dataclass(frozen=True)
class ProtocolDocument:
    """Everything a closed appeal's protocol shows, ready for display."""

    appeal_number: str
    centre_name: str
    post_name: str
    patient_name: str
    patient_birth_date: date
    patient_sex: str
    patient_snils: str
    patient_enp: str
    consultant_name: str
    consultant_specialty: str
    feldsher_name: str
    form_of_care: str
    kind: str
    created_at: datetime
    slot_at: datetime | None
    closed_at: datetime
    question: str
    anamnesis: str
    recommendations: str
    additional_recommendations: str
    diagnoses: list[tuple[str, str, str]]  # (code, title, role) in a conclusion's order
    timezone_label: str
    #: The legal representative ("ФИО (relation)"), and the ИДС to the consultation: who
    #: gave it ("пациент" or "законный представитель"), the representative's name, when.
    representative: str = ""
    consent_by: str = ""
    consent_name: str = ""
    consent_at: datetime | None = None
    consent_scan: bool = False


@functools.cache
def _register_fonts() -> None:
    pdfmetrics.registerFont(TTFont(_FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(_FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    # Without a family, <b> inside a paragraph would fall back to Helvetica-Bold.
    pdfmetrics.registerFontFamily(_FONT, normal=_FONT, bold=_FONT_BOLD, italic=_FONT, boldItalic=_FONT_BOLD)


_STYLES = {
    "title": ParagraphStyle(
        "title", fontName=_FONT_BOLD, fontSize=15, leading=19, alignment=1, spaceAfter=2 * mm
    ),
    "subtitle": ParagraphStyle(
        "subtitle", fontName=_FONT, fontSize=11, leading=14, alignment=1, spaceAfter=5 * mm
    ),
    "heading": ParagraphStyle(
        "heading",
        fontName=_FONT_BOLD,
        fontSize=11.5,
        leading=15,
        spaceBefore=3 * mm,
        spaceAfter=1.5 * mm,
        keepWithNext=True,
    ),
    "body": ParagraphStyle("body", fontName=_FONT, fontSize=10, leading=13.5),
    "label": ParagraphStyle("label", fontName=_FONT_BOLD, fontSize=9.5, leading=12.5),
    "cell": ParagraphStyle("cell", fontName=_FONT, fontSize=9.5, leading=12.5),
}

_SHADE = colors.HexColor("#f0f0f0")
_GRID = [
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
    ("TOPPADDING", (0, 0), (-1, -1), 2.5),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
    # Cells are paragraphs, but the table still sets its own font per cell; without this
    # every PDF would reference an unembedded Helvetica.
    ("FONTNAME", (0, 0), (-1, -1), _FONT),
]


def _markup(text: str) -> str:
    """User text as paragraph markup: XML escaped, line breaks kept."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n").split("\n")
    # Paragraphs collapse runs of whitespace; &nbsp; keeps indents and hand-aligned columns.
    return "<br/>".join(
        escape(line).replace("  ", "&nbsp; ").replace("\t", "&nbsp; &nbsp; ") for line in lines
    )


def _text(text: str, style: str = "body", empty: str = "не заполнено") -> Paragraph:
    if not text.strip():
        return Paragraph(f"<i>{empty}</i>", _STYLES[style])
    return Paragraph(_markup(text), _STYLES[style])


def _when(moment: datetime | None, zone: str) -> str:
    if moment is None:
        return "не назначено"
    return f"{moment:%d.%m.%Y %H:%M} ({zone})"


def _consent(doc: ProtocolDocument) -> str:
    """Who gave the informed voluntary consent, and when (323-ФЗ art. 20)."""
    if not doc.consent_by:
        return "не записано"
    who = f"{doc.consent_by} — {doc.consent_name}" if doc.consent_name else doc.consent_by
    when = f", {_when(doc.consent_at, doc.timezone_label)}" if doc.consent_at else ""
    scan = "; подписанная форма приложена к обращению" if doc.consent_scan else ""
    return f"дано: {who}{when}{scan}"


def _fields(rows: list[tuple[str, str]]) -> Table:
    """Two-column label/value table; values wrap, so long names never overflow."""
    data = [
        [Paragraph(escape(label), _STYLES["label"]), _text(value, "cell", "не указан")]
        for label, value in rows
    ]
    table = Table(data, colWidths=[56 * mm, None], hAlign="LEFT")
    table.setStyle(TableStyle([*_GRID, ("BACKGROUND", (0, 0), (0, -1), _SHADE)]))
    return table


def _diagnoses(diagnoses: list[tuple[str, str, str]]) -> Flowable:
    if not diagnoses:
        return _text("", empty="не указаны")
    header = [Paragraph(name, _STYLES["label"]) for name in ("Диагноз", "Код", "Наименование")]
    rows = [
        [_text(role[:1].upper() + role[1:], "cell"), _text(code, "cell"), _text(title, "cell")]
        for code, title, role in diagnoses
    ]
    table = Table([header, *rows], colWidths=[50 * mm, 18 * mm, None], hAlign="LEFT", repeatRows=1)
    table.setStyle(TableStyle([*_GRID, ("BACKGROUND", (0, 0), (-1, 0), _SHADE)]))
    return table


def _story(doc: ProtocolDocument) -> list[Flowable]:
    zone = doc.timezone_label
    heading = _STYLES["heading"]
    story: list[Flowable] = [
        Paragraph(_TITLE, _STYLES["title"]),
        Paragraph(f"Обращение № {escape(doc.appeal_number)}", _STYLES["subtitle"]),
        Paragraph("Организации", heading),
        _fields([("Консультативный центр", doc.centre_name), ("ФАП", doc.post_name)]),
        Paragraph("Пациент", heading),
        _fields(
            [
                ("ФИО", doc.patient_name),
                ("Дата рождения", f"{doc.patient_birth_date:%d.%m.%Y}"),
                ("Пол", _SEX_LABELS.get(doc.patient_sex, doc.patient_sex)),
                ("СНИЛС", doc.patient_snils),
                ("Полис ОМС", doc.patient_enp),
                *([("Законный представитель", doc.representative)] if doc.representative else []),
            ]
        ),
        Paragraph("Консультация", heading),
        _fields(
            [
                ("Консультант", doc.consultant_name),
                ("Специальность", doc.consultant_specialty),
                ("Фельдшер", doc.feldsher_name),
                ("Форма оказания помощи", doc.form_of_care),
                ("Вид консультации", doc.kind),
                ("Создано", _when(doc.created_at, zone)),
                ("Приём", _when(doc.slot_at, zone)),
                ("Закрыто", _when(doc.closed_at, zone)),
                ("Согласие (ИДС) на ТМК", _consent(doc)),
            ]
        ),
    ]
    for title, text in (("Вопрос консультанту", doc.question), ("Анамнез", doc.anamnesis)):
        story += [Paragraph(title, heading), _text(text)]
    # As in a conclusion: the diagnoses, then what to do about them.
    story += [Paragraph("Диагнозы (МКБ-10)", heading), _diagnoses(doc.diagnoses)]
    for title, text in (
        ("Рекомендации", doc.recommendations),
        ("Дополнительные рекомендации", doc.additional_recommendations),
    ):
        story += [Paragraph(title, heading), _text(text)]
    return story


class _FooterCanvas(Canvas):
    """Canvas that holds pages back until the end, so each footer can say «из M»."""

    def __init__(self, *args: Any, footer_note: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer_note = footer_note
        self._held_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held_pages)
        for number, state in enumerate(self._held_pages, start=1):
            self.__dict__.update(state)
            self._draw_footer(number, total)
            super().showPage()
        super().save()

    def _draw_footer(self, number: int, total: int) -> None:
        width, _ = self._pagesize
        y = 10 * mm
        self.saveState()
        self.setStrokeColor(colors.grey)
        self.setLineWidth(0.4)
        self.line(_MARGIN, y + 4 * mm, width - _MARGIN, y + 4 * mm)
        self.setFont(_FONT, 8)
        self.setFillColor(colors.dimgrey)
        self.drawString(_MARGIN, y, self._footer_note)
        self.drawRightString(width - _MARGIN, y, f"Страница {number} из {total}")
        self.restoreState()


def render_protocol_pdf(doc: ProtocolDocument) -> bytes:
    """Render the consultation protocol as A4 PDF bytes with DejaVu Sans embedded."""
    _register_fonts()
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN + 6 * mm,
        title=f"{_TITLE} № {doc.appeal_number}",
        author=doc.consultant_name,
        subject=f"{doc.centre_name} — {doc.post_name}",
        creator="faplink",
        lang="ru-RU",
        initialFontName=_FONT,  # keeps the unembedded Helvetica default out of the PDF
        # Fixed timestamps and document ids: the same protocol gives the same bytes.
        invariant=1,
    )
    note = f"Сформировано в faplink по обращению № {doc.appeal_number}"
    template.build(_story(doc), canvasmaker=functools.partial(_FooterCanvas, footer_note=note))
    return buffer.getvalue()
