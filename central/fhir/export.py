"""Bulk export for a region's МИС: one NDJSON file per resource type (FHIR Bulk Data).

``<Type>.ndjson`` holds one resource per line, built by the same mapping as the
API. Rows are read in batches by key (``id > last``), never one query per row,
so the export's queries grow with the data divided by the batch size, on SQLite
and PostgreSQL alike. ``since`` keeps the resources whose record changed at or
after that moment (its clock stamp), as the Bulk Data ``_since`` does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync.clock import Stamp

from .access import Reader, record_access
from .mapping import Directory
from .records import TYPES

__all__ = ["ExportProgress", "ExportResult", "export_ndjson", "EXPORT_ORDER", "BATCH"]

#: Directories first, then the patients and what refers to them.
EXPORT_ORDER = (
    "Organization",
    "Practitioner",
    "Patient",
    "ServiceRequest",
    "Observation",
    "Composition",
    "Condition",
    "DocumentReference",
    "Consent",
)
BATCH = 500


@dataclass
class ExportProgress:
    """What a progress bar needs (runtime.progress.ProgressBar reads these names)."""

    records: int = 0
    total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    current: str = ""


@dataclass
class ExportResult:
    counts: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def _since_stamp(since: datetime | None) -> str | None:
    if since is None:
        return None
    if since.tzinfo is not None:
        since = since.astimezone(UTC).replace(tzinfo=None)
    wall_ms = int((since - datetime(1970, 1, 1)).total_seconds() * 1000)
    return Stamp(wall_ms, 0, "").encode()


def export_ndjson(
    out_dir: Path,
    reader: Reader,
    since: datetime | None = None,
    progress: Callable[[ExportProgress], None] | None = None,
    batch: int = BATCH,
    base_url: str = "",
) -> ExportResult:
    """Write ``<Type>.ndjson`` for every type into `out_dir`; each file is complete or absent."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = _since_stamp(since)
    directory = Directory.load(base_url)
    queries: dict[str, Any] = {}
    for name in EXPORT_ORDER:
        kind = TYPES[name]
        query = kind.rows(reader)
        if stamp is not None:
            query = query.where(kind.model.hlc >= stamp)
        queries[name] = query
    state = ExportProgress(total=sum(q.count() for q in queries.values()))
    result = ExportResult()
    for name in EXPORT_ORDER:
        kind = TYPES[name]
        state.current = name
        target = out_dir / f"{name}.ndjson"
        partial = target.with_suffix(".ndjson.part")
        written = 0
        last = ""
        with partial.open("w", encoding="utf-8") as handle:
            while True:
                rows = list(queries[name].where(kind.model.id > last).order_by(kind.model.id).limit(batch))
                if not rows:
                    break
                last = rows[-1].id
                resources = kind.build(rows, directory)
                for resource in resources:
                    handle.write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n")
                written += len(resources)
                record_access(reader, "export", name, resources)
                state.records += len(rows)
                if progress is not None:
                    progress(state)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(target)
        result.counts[name] = written
        result.files.append(target)
    if progress is not None:
        progress(state)
    return result
