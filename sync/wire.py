"""The sync wire format: gzip-compressed JSON bodies, one version for both directions."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from typing import Any

from i18n import N_

from .errors import MalformedError

__all__ = ["encode", "decode", "decode_object", "pack_chunk", "unpack_chunk", "CONTENT_TYPE", "MAX_BODY"]

CONTENT_TYPE = "application/json"
#: A batch body larger than this (uncompressed) is refused: it cannot be a real batch.
MAX_BODY = 64 * 1024 * 1024


def encode(payload: Any) -> bytes:
    """JSON, compact, gzip level 6 (the 2G link is the bottleneck, not the CPU)."""
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    return gzip.compress(raw, compresslevel=6, mtime=0)


#: Deeper nesting than a record's fields ever need is refused before anything reads it.
MAX_DEPTH = 32
#: Integers longer than a signed 64-bit one are refused (no database column holds them).
MAX_INT_DIGITS = 19


def decode(body: bytes, gzipped: bool = True) -> Any:
    """Parse a body; a corrupt, oversized, too deep or out-of-range one is a MalformedError."""
    try:
        raw = _gunzip_bounded(body) if gzipped else body
        if len(raw) > MAX_BODY:
            raise MalformedError(N_("Пакет синхронизации слишком велик"))
        text = raw.decode("utf-8")
        payload = json.loads(text, parse_int=_bounded_int, parse_float=_finite, parse_constant=_no_constant)
        if isinstance(payload, dict | list):
            _check_depth(payload)
        return payload
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise MalformedError(N_("Пакет синхронизации повреждён: %(detail)s"), detail=str(exc)[:200]) from exc


def decode_object(body: bytes, gzipped: bool = True) -> dict[str, Any]:
    """A body that must be a JSON object (every request a node sends)."""
    payload = decode(body, gzipped)
    if not isinstance(payload, dict):
        raise MalformedError(N_("Ожидался JSON-объект в теле запроса"))
    return payload


def _check_depth(payload: Any) -> None:
    """Refuse nesting deeper than MAX_DEPTH (the parser itself stops near Python's recursion limit)."""
    level: list[Any] = [payload]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return
    raise MalformedError(N_("Пакет синхронизации слишком глубоко вложен"))


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise MalformedError(N_("Число в пакете синхронизации слишком велико"))
    return int(text)


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise MalformedError(N_("Число в пакете синхронизации слишком велико"))
    return value


def _no_constant(text: str) -> Any:
    raise MalformedError(N_("Пакет синхронизации содержит %(value)s вместо числа"), value=text)


def _gunzip_bounded(body: bytes, limit: int = MAX_BODY) -> bytes:
    """At most `limit` + 1 bytes of the unpacked body: enough to tell it is too large."""
    decompressor = gzip.GzipFile(fileobj=io.BytesIO(body))
    return decompressor.read(limit + 1)


#: Shorter chunks go as they are: gzip would save too little to matter.
_PACK_MIN = 1024
#: The share of a chunk gzip must save for the packed form to be sent.
_PACK_GAIN = 0.1
_PROBE = 16 * 1024


def pack_chunk(data: bytes, level: int = 6) -> bytes | None:
    """A blob chunk gzipped, if that saves at least a tenth of it; None to send it raw.

    Text files (ECG exports, CSV, TXT, uncompressed PDFs) shrink two to three times;
    JPEG photos, scanned PDFs and DOCX are compressed already, and a fast probe of the
    chunk's start spares the kiosk's CPU the full attempt on those. Level 6 packs about
    10 MB/s on a kiosk; on a link faster than that, level 1 (about 70 MB/s) is quicker.
    """
    if len(data) < _PACK_MIN:
        return None
    probe = data[:_PROBE]
    if len(zlib.compress(probe, 1)) > (1 - _PACK_GAIN) * len(probe):
        return None
    packed = gzip.compress(data, compresslevel=level, mtime=0)
    return packed if len(packed) <= (1 - _PACK_GAIN) * len(data) else None


def unpack_chunk(body: bytes, limit: int) -> bytes:
    """A gzipped blob chunk unpacked; corrupt or over `limit` bytes is a MalformedError."""
    try:
        raw = _gunzip_bounded(body, limit)
    except (OSError, EOFError, zlib.error) as exc:
        raise MalformedError(N_("Фрагмент файла повреждён: %(detail)s"), detail=str(exc)) from exc
    if len(raw) > limit:
        raise MalformedError(N_("Фрагмент файла слишком велик"))
    return raw
