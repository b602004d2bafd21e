"""The visible signature stamp: its Russian text, its look, and where it goes on the page.

The stamp belongs in the bottom area of the last page, but a protocol's last page is
often nearly full, and the stamp must never cover the text it vouches for.
:func:`place_stamp` tries the classic five-line stamp, then a compact three-line one,
in the lowest band of the page that nothing is drawn in
(:func:`~central.signing.page_space.free_band`), and appends a blank page only when
neither fits.
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.ttLib.scaleUpem import scale_upem
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.stamp import TextStampStyle

from central.documents.protocol_pdf import FONT_DIR

from .page_space import EDGE, MM, free_band, page_box

log = logging.getLogger(__name__)

__all__ = ["StampDesign", "StampPlacement", "StampedCertificate", "place_stamp", "stamp_designs"]

FONT_FILE = FONT_DIR / "DejaVuSans.ttf"
PADDING = 4  # between the stamp's border and its text
BORDER = 1
INK = (0.05, 0.2, 0.55)  # the dark blue of a paper stamp
CLASSIC_WIDTH = 110 * MM
SIDE_MARGIN = 20 * MM  # where protocol_pdf's text column starts
# What names and organisations are written in: Latin, Cyrillic, Greek, punctuation, №.
_UNICODE_RANGES = (
    (0x20, 0x7F),
    (0xA0, 0x250),
    (0x370, 0x530),
    (0x2000, 0x2070),
    (0x20A0, 0x20C0),
    (0x2100, 0x2150),
)


@functools.cache
def _stamp_font() -> bytes:
    """DejaVu Sans cut to the scripts above and rescaled to 1000 units per em.

    pyHanko 0.38 writes glyph widths in font units where PDF expects thousandths of an
    em, so DejaVu (2048 units) comes out spaced twice too wide and overflows the stamp.
    Rescaling sidesteps that; cutting the font first makes it take 0.5 s, not 2 s.
    """
    font = TTFont(str(FONT_FILE))
    options = subset.Options()
    options.hinting = False  # hints do not survive rescaling, and PDF viewers skip them
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["FFTM", "MATH"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[code for low, high in _UNICODE_RANGES for code in range(low, high)])
    subsetter.subset(font)
    scale_upem(font, 1000)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


@functools.cache
def _advances() -> dict[int, int]:
    """Advance widths by code point, in thousandths of an em."""
    font = TTFont(io.BytesIO(_stamp_font()))
    metrics = font["hmtx"].metrics
    return {code: metrics[glyph][0] for code, glyph in font.getBestCmap().items()}


def text_width(text: str, size: float) -> float:
    """Width of ``text`` in the stamp's font at ``size`` points (kerning ignored)."""
    widths = _advances()
    fallback = widths.get(ord("M"), 600)
    return sum(widths.get(ord(char), fallback) for char in text) * size / 1000


@dataclass(frozen=True)
class _StampFont(FontEngineFactory):
    """The stamp's font for pyHanko, from memory rather than from a file."""

    def create_font_engine(self, writer: BasePdfFileWriter, obj_stream: object = None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs:
            obj_stream = writer.prepare_object_stream()
        return GlyphAccumulator(
            writer=writer,
            font_handle=io.BytesIO(_stamp_font()),
            font_size=10,
            obj_stream=obj_stream,
        )


def _wrap(line: str, width: float, size: float) -> list[str]:
    """Break a line at spaces to fit ``width``; continuation lines are indented."""
    if text_width(line, size) <= width:
        return [line]
    lines: list[str] = []
    current = ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and text_width(candidate, size) > width:
            lines.append(current)
            current = "    " + word
        else:
            current = candidate
    lines.append(current)
    return lines


def _date(moment: datetime) -> str:
    return f"{moment:%d.%m.%Y}"


@dataclass(frozen=True)
class StampDesign:
    """One way to lay the stamp out: its lines, type size and outer width in points."""

    lines: tuple[str, ...]
    font_size: int  # pyHanko writes both as integers (%d)
    leading: int
    width: float

    @property
    def height(self) -> float:
        return len(self.lines) * self.leading + 2 * (PADDING + BORDER)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def style(self) -> TextStampStyle:
        """A bordered blue text stamp; pyHanko fills in the text as ``%(text)s``."""
        left = layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(PADDING),
        )
        return TextStampStyle(
            stamp_text="%(text)s",
            border_width=BORDER,
            border_color=INK,
            inner_content_layout=left,
            text_box_style=TextBoxStyle(
                font=_StampFont(),
                font_size=self.font_size,
                leading=self.leading,
                text_color=INK,
                box_layout_rule=layout.SimpleBoxLayoutRule(
                    x_align=layout.AxisAlignment.ALIGN_MIN,
                    y_align=layout.AxisAlignment.ALIGN_MID,
                ),
            ),
        )


def _design(lines: list[str], font_size: int, leading: int, width: float) -> StampDesign:
    inner = width - 2 * (PADDING + BORDER)
    wrapped = [part for line in lines for part in _wrap(line, inner, font_size)]
    return StampDesign(tuple(wrapped), font_size, leading, width)


class StampedCertificate(Protocol):
    """What the stamp says of a certificate (a :class:`SignerCredential` is one)."""

    @property
    def common_name(self) -> str: ...
    @property
    def organization(self) -> str | None: ...
    @property
    def serial_hex(self) -> str: ...
    @property
    def not_before(self) -> datetime: ...
    @property
    def not_after(self) -> datetime: ...


def stamp_designs(
    credential: StampedCertificate,
    signer_name: str,
    text_width_available: float,
    issuer: str | None = None,
) -> list[StampDesign]:
    """The classic stamp, then a compact one as wide as the text column.

    ``issuer`` adds the CA's name: a detached signature's stamp names it, since no PDF
    reader will show the certificate."""
    subject = ", ".join(part for part in (credential.common_name, credential.organization) if part)
    title = "Документ подписан электронной подписью"
    owner = f"Владелец: {signer_name}"
    serial = f"Сертификат: {credential.serial_hex}"
    subject_line = f"Субъект: {subject}"
    validity = f"Действителен: с {_date(credential.not_before)} по {_date(credential.not_after)}"
    classic_width = min(CLASSIC_WIDTH, text_width_available)
    classic = [title, owner, serial, subject_line, validity]
    compact = [f"{title}. {owner}", f"{serial}. {validity}", subject_line]
    if issuer:
        classic.append(f"Издатель: {issuer}")
        compact[-1] += f"; издатель: {issuer}"  # the compact stamp stays short where space is
    return [
        _design(classic, 8, 10, classic_width),
        _design(compact, 7, 9, text_width_available),
    ]


@dataclass(frozen=True)
class StampPlacement:
    """The chosen design, on which page (negative: from the end), in which box."""

    design: StampDesign
    page: int
    box: tuple[int, int, int, int]


def _already_signed(writer: IncrementalPdfFileWriter) -> bool:
    return any(True for _ in enumerate_sig_fields(writer.prev, filled_status=True))


def _append_blank_page(writer: IncrementalPdfFileWriter, box: tuple[float, float, float, float]) -> None:
    writer.insert_page(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Page"),
                pdf_name("/MediaBox"): generic.ArrayObject(generic.FloatObject(v) for v in box),
                pdf_name("/Resources"): generic.DictionaryObject(),
            }
        )
    )


def place_stamp(
    writer: IncrementalPdfFileWriter,
    credential: StampedCertificate,
    signer_name: str,
    issuer: str | None = None,
) -> StampPlacement:
    """Put the stamp in the lowest free band of the last page, classic design first.

    When neither design fits, a blank page is appended (in the same revision as the
    signature, so the signature covers it) and the stamp goes at its top.
    """
    page_ref, resources = writer.find_page_for_modification(-1)
    page = page_ref.get_object()
    left, bottom, right, top = page_box(page)
    x = left + SIDE_MARGIN
    designs = stamp_designs(credential, signer_name, right - left - 2 * SIDE_MARGIN, issuer)

    def placed(design: StampDesign, y: float) -> StampPlacement:
        box = (round(x), round(y), round(x + design.width), round(y + design.height))
        return StampPlacement(design, -1, box)

    try:
        for design in designs:
            y = free_band(page, resources, design.height)
            if y is not None:
                return placed(design, y)
    except Exception:  # whatever the page holds, a stamp elsewhere beats no signature
        log.warning("cannot read the last page's content; the stamp goes elsewhere", exc_info=True)
    classic = designs[0]
    if _already_signed(writer):
        # A new page would break the signatures already there: overlap the bottom instead.
        return placed(classic, bottom + EDGE)
    _append_blank_page(writer, (left, bottom, right, top))
    return placed(classic, top - EDGE - classic.height)
