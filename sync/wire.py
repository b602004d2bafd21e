"""The sync wire format: gzip-compressed JSON bodies, one version for both directions."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

from .errors import N_, ValidationError

__all__ = ["encode", "decode", "CONTENT_TYPE", "MAX_BODY"]

CONTENT_TYPE = "application/json"
#: A batch body larger than this (uncompressed) is refused: it cannot be a real batch.
MAX_BODY = 64 * 1024 * 1024


def encode(payload: Any) -> bytes:
    """JSON, compact, gzip level 6 (the 2G link is the bottleneck, not the CPU)."""
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode()
    return gzip.compress(raw, compresslevel=6, mtime=0)


def decode(body: bytes, gzipped: bool = True) -> Any:
    """Parse a body; a corrupt or oversized one is a ValidationError, never a crash."""
    try:
        raw = _gunzip_bounded(body) if gzipped else body
        if len(raw) > MAX_BODY:
            raise ValidationError(N_("Пакет синхронизации слишком велик"))
        return json.loads(raw.decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(N_("Пакет синхронизации повреждён: %(detail)s"), detail=str(exc)) from exc


def _gunzip_bounded(body: bytes) -> bytes:
    decompressor = gzip.GzipFile(fileobj=io.BytesIO(body))
    return decompressor.read(MAX_BODY + 1)
