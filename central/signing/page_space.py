"""Where a PDF page has nothing drawn: just enough of a content-stream reader for that.

It follows the transformation matrices and the text position, and records the
vertical extent of every glyph run, painted path, XObject and annotation. Anything it
cannot follow (a shading, an inline image) counts as covering the whole page, so a
mistake only ever sends the stamp to a new page, never over the text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from decimal import Decimal

from pyhanko.pdf_utils import generic

__all__ = ["EDGE", "GAP", "MM", "free_band", "page_box"]

MM = 72 / 25.4  # points per millimetre
# Nothing closer to the paper's edge than this: office printers do not print there.
EDGE = 12 * MM
GAP = 2 * MM  # clear space kept above and below whatever is placed in a free band

Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1, 0, 0, 1, 0, 0)
_PAINT = {"S", "s", "f", "F", "f*", "B", "B*", "b", "b*"}


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    """``m`` then ``n``: the PDF convention, where a point is a row vector."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def _y(matrix: Matrix, x: float, y: float) -> float:
    return matrix[1] * x + matrix[3] * y + matrix[5]


def _numbers(args: Iterable[object]) -> list[float]:
    """The numeric operands (PDF integers and reals alike), names dropped."""
    return [float(arg) for arg in args if isinstance(arg, int | float | Decimal)]


_WHITESPACE = frozenset(b" \t\r\n\f\x00")
_DELIMITERS = frozenset(b"()<>[]{}/%")
_OPEN, _CLOSE = frozenset(b"[{"), frozenset(b"]}")
_KEYWORDS = {"true", "false", "null"}


def _skip_string(data: bytes, i: int) -> int:
    """Index just past the literal string that opens at ``i`` (nested parens, escapes)."""
    depth = 0
    while i < len(data):
        char = data[i]
        if char == 0x5C:  # backslash: the next byte is escaped
            i += 2
            continue
        if char == 0x28:
            depth += 1
        elif char == 0x29:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _operations(data: bytes) -> Iterator[tuple[str, list[float | str]]]:
    """Operators of a content stream with their top-level number and name operands.

    pyHanko's own content parser reads the fill operator ``f`` as a broken ``false``,
    hence this small tokenizer. It stops at an inline image (``BI``), whose binary
    data it cannot skip safely.
    """
    operands: list[float | str] = []
    depth = 0
    i, end = 0, len(data)
    while i < end:
        char = data[i]
        if char in _WHITESPACE:
            i += 1
        elif char == 0x25:  # % comment to the end of the line
            while i < end and data[i] not in b"\r\n":
                i += 1
        elif char == 0x28:
            i = _skip_string(data, i)
        elif data.startswith(b"<<", i) or data.startswith(b">>", i):
            depth += 1 if char == 0x3C else -1
            i += 2
        elif char == 0x3C:  # hex string
            i = data.find(b">", i) + 1 or end
        elif char in _OPEN or char in _CLOSE:
            depth += 1 if char in _OPEN else -1
            i += 1
        else:
            start = i
            i += 1
            while i < end and data[i] not in _WHITESPACE and data[i] not in _DELIMITERS:
                i += 1
            token = data[start:i].decode("latin-1")
            if depth > 0 or token in _KEYWORDS:
                continue
            if token.startswith("/"):
                operands.append(token)
                continue
            try:
                operands.append(float(token))
            except ValueError:
                yield token, operands
                if token == "BI":
                    return
                operands = []


def _matrix(numbers: list[float]) -> Matrix | None:
    if len(numbers) != 6:
        return None
    a, b, c, d, e, f = numbers
    return a, b, c, d, e, f


def _content_streams(page: generic.DictionaryObject) -> list[generic.StreamObject]:
    if "/Contents" not in page:
        return []
    contents = page["/Contents"]
    if isinstance(contents, generic.ArrayObject):
        return [part.get_object() for part in contents]
    return [contents]


def _drawn_bands(
    page: generic.DictionaryObject, resources: generic.DictionaryObject
) -> Iterator[tuple[float, float]]:
    """Vertical extents (in page space) of everything the page's content stream draws."""
    ctm: Matrix = _IDENTITY
    saved: list[tuple[Matrix, float]] = []
    text_line: Matrix = _IDENTITY
    text: Matrix = _IDENTITY
    leading = 0.0
    font_size = 0.0
    path: list[float] = []
    xobjects = resources["/XObject"] if "/XObject" in resources else generic.DictionaryObject()

    def move_text(tx: float, ty: float) -> None:
        nonlocal text_line, text
        text_line = text = _multiply((1, 0, 0, 1, tx, ty), text_line)

    def glyph_band() -> tuple[float, float]:
        placed = _multiply(text, ctm)
        base = _y(placed, 0, 0)
        top = _y(placed, 0, font_size)
        return min(base, top) - abs(top - base) * 0.3, max(base, top)

    data = b"\n".join(stream.data for stream in _content_streams(page))
    for op, args in _operations(data):
        if op == "q":
            saved.append((ctm, leading))
        elif op == "Q" and saved:
            ctm, leading = saved.pop()
        elif op == "cm" and (matrix := _matrix(_numbers(args))):
            ctm = _multiply(matrix, ctm)
        elif op == "BT":
            text_line = text = _IDENTITY
        elif op == "Tm" and (matrix := _matrix(_numbers(args))):
            text_line = text = matrix
        elif op in ("Td", "TD") and len(nums := _numbers(args)) == 2:
            if op == "TD":
                leading = -nums[1]
            move_text(nums[0], nums[1])
        elif op == "TL" and (nums := _numbers(args)):
            leading = nums[0]
        elif op == "Tf" and (nums := _numbers(args)):
            font_size = nums[-1]
        elif op == "T*":
            move_text(0, -leading)
        elif op in ("Tj", "TJ", "'", '"'):
            if op in ("'", '"'):
                move_text(0, -leading)
            yield glyph_band()
        elif op in ("m", "l") and len(nums := _numbers(args)) == 2:
            path.append(_y(ctm, nums[0], nums[1]))
        elif op in ("c", "v", "y"):
            nums = _numbers(args)
            path += [_y(ctm, x, y) for x, y in zip(nums[0::2], nums[1::2], strict=False)]
        elif op == "re" and len(nums := _numbers(args)) == 4:
            x, y, w, h = nums
            path += [_y(ctm, x, y), _y(ctm, x + w, y + h), _y(ctm, x, y + h), _y(ctm, x + w, y)]
        elif op in _PAINT or op == "n":
            if op != "n" and path:
                yield min(path), max(path)
            path = []
        elif op == "Do" and args and isinstance(args[0], str):
            name = args[0]
            yield from _xobject_band(xobjects[name] if name in xobjects else None, ctm)
        elif op in ("sh", "BI"):
            # A shading fills the clip and an inline image is opaque to us: take the
            # whole page as drawn rather than risk covering it.
            yield -math.inf, math.inf


def _xobject_band(xobject: generic.PdfObject | None, ctm: Matrix) -> Iterator[tuple[float, float]]:
    xobject = xobject.get_object() if xobject is not None else None
    if not isinstance(xobject, generic.StreamObject):
        return
    if "/Subtype" in xobject and xobject["/Subtype"] == "/Form":
        x0, y0, x1, y1 = (float(v) for v in xobject["/BBox"])
        form = _matrix(_numbers(xobject["/Matrix"])) if "/Matrix" in xobject else None
        placed = _multiply(form, ctm) if form else ctm
    else:
        x0, y0, x1, y1 = 0.0, 0.0, 1.0, 1.0  # an image fills the unit square
        placed = ctm
    ys = [_y(placed, x, y) for x in (x0, x1) for y in (y0, y1)]
    yield min(ys), max(ys)


def _annotation_bands(page: generic.DictionaryObject) -> Iterator[tuple[float, float]]:
    annotations = page["/Annots"] if "/Annots" in page else generic.ArrayObject()
    for annotation in annotations:
        annotation = annotation.get_object()
        rect = annotation["/Rect"] if "/Rect" in annotation else None
        if rect is not None and len(rect) == 4:
            ys = float(rect[1]), float(rect[3])
            yield min(ys), max(ys)


def _merged(bands: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for low, high in sorted(bands):
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def page_box(page: generic.DictionaryObject) -> tuple[float, float, float, float]:
    """The page's visible box (CropBox, else MediaBox), inherited through the page tree."""
    for key in ("/CropBox", "/MediaBox"):
        node: generic.PdfObject | None = page
        while isinstance(node, generic.DictionaryObject):
            if key in node:
                x0, y0, x1, y1 = (float(v) for v in node[key])
                return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)
            parent = node.get("/Parent")
            node = parent.get_object() if parent is not None else None
    return 0.0, 0.0, 595.0, 842.0  # A4, when the file does not say


def free_band(
    page: generic.DictionaryObject, resources: generic.DictionaryObject, height: float
) -> float | None:
    """The lowest y at which a band ``height`` tall is free of drawing, or None.

    Raises on a page whose objects are broken; the caller decides what that means.
    """
    _, bottom, _, top = page_box(page)
    bands = [*_drawn_bands(page, resources), *_annotation_bands(page)]
    floor = bottom + EDGE
    for low, high in [*_merged(bands), (top - EDGE, math.inf)]:
        if low - GAP - floor >= height:
            return floor
        floor = max(floor, high + GAP)
    return None
