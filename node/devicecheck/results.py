"""The device check's results at the kiosk: the latest in devicecheck.json, earlier ones in a history file.

Both sit in the node's data directory next to selftest.json; they are the
kiosk's own notes, not replicated records. Central learns of them through the
health report (provisioning/report.py). What the browser posts is checked
field by field here: bad input is refused as a whole and nothing is stored.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.errors import ValidationError
from i18n import N_
from sync.clock import utcnow

from .checks import Finding

__all__ = [
    "LATEST",
    "HISTORY",
    "KEEP",
    "BrowserResults",
    "parse_browser_results",
    "save_result",
    "latest_result",
    "history",
]

LATEST = "devicecheck.json"
HISTORY = "devicecheck-history.jsonl"
#: How many earlier results the history keeps.
KEEP = 50
_MAX_TEXT = 300


@dataclass(frozen=True)
class BrowserResults:
    """What the kiosk's browser measured; None where that part was not checked."""

    camera_preview: dict[str, Any] | None = None
    microphone_level: dict[str, Any] | None = None
    speaker_test: dict[str, Any] | None = None


def _text(value: Any, name: str, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValidationError(N_("Поле «%(name)s» должно быть непустой строкой"), field=name, name=name)
    if len(value) > _MAX_TEXT:
        raise ValidationError(
            N_("Поле «%(name)s» длиннее %(max)s символов"), field=name, name=name, max=_MAX_TEXT
        )
    return value.strip()


def _number(value: Any, name: str, low: float, high: float, *, integer: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and integer and not float(value).is_integer():
        ok = False
    if not ok or not math.isfinite(value) or not low <= value <= high:
        raise ValidationError(
            N_("Поле «%(name)s» должно быть числом от %(low)s до %(high)s"),
            field=name,
            name=name,
            low=f"{low:g}",
            high=f"{high:g}",
        )
    return int(value) if integer else float(value)


def _object(value: Any, name: str, allowed: set[str]) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError(N_("Поле «%(name)s» должно быть объектом"), field=name, name=name)
    unknown = sorted(set(value) - allowed)
    if unknown:
        field = f"{name}.{unknown[0]}"
        raise ValidationError(N_("Неизвестное поле «%(name)s»"), field=field, name=field)
    return value


def _failed(data: dict[str, Any], name: str) -> dict[str, Any] | None:
    """A part the browser could not measure: {error, label?}."""
    if "error" not in data:
        return None
    out = {"error": _text(data["error"], f"{name}.error", required=True)}
    extra = set(data) - {"error", "label"}
    if extra:
        field = f"{name}.{sorted(extra)[0]}"
        raise ValidationError(N_("Неизвестное поле «%(name)s»"), field=field, name=field)
    if data.get("label") is not None:
        out["label"] = _text(data["label"], f"{name}.label")
    return out


def _preview(value: Any) -> dict[str, Any] | None:
    data = _object(value, "camera_preview", {"width", "height", "fps", "label", "error"})
    if data is None:
        return None
    failed = _failed(data, "camera_preview")
    if failed is not None:
        return failed
    return {
        "width": _number(data.get("width"), "camera_preview.width", 1, 16384, integer=True),
        "height": _number(data.get("height"), "camera_preview.height", 1, 16384, integer=True),
        "fps": round(_number(data.get("fps"), "camera_preview.fps", 0, 240), 1),
        "label": _text(data.get("label"), "camera_preview.label"),
    }


def _microphone(value: Any) -> dict[str, Any] | None:
    data = _object(value, "microphone_level", {"peak", "label", "error"})
    if data is None:
        return None
    failed = _failed(data, "microphone_level")
    if failed is not None:
        return failed
    return {
        "peak": round(_number(data.get("peak"), "microphone_level.peak", 0, 1), 3),
        "label": _text(data.get("label"), "microphone_level.label"),
    }


def _speaker(value: Any) -> dict[str, Any] | None:
    data = _object(value, "speaker_test", {"heard"})
    if data is None:
        return None
    if not isinstance(data.get("heard"), bool):
        name = "speaker_test.heard"
        raise ValidationError(N_("Поле «%(name)s» должно быть true или false"), field=name, name=name)
    return {"heard": data["heard"]}


def parse_browser_results(data: Any) -> BrowserResults:
    """The browser's part of a check, validated; raises ValidationError on anything else."""
    if not isinstance(data, dict):
        raise ValidationError(N_("Ожидался JSON-объект в теле запроса"))
    fields = {"camera_preview", "microphone_level", "speaker_test"}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise ValidationError(N_("Неизвестное поле «%(name)s»"), field=unknown[0], name=unknown[0])
    results = BrowserResults(
        _preview(data.get("camera_preview")),
        _microphone(data.get("microphone_level")),
        _speaker(data.get("speaker_test")),
    )
    if results == BrowserResults():
        raise ValidationError(
            N_("Нет результатов проверки: проверьте камеру, микрофон или динамики и сохраните снова")
        )
    return results


def _write_json(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}")
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, ensure_ascii=False, indent=2, default=str)
    os.replace(tmp, path)


def save_result(data_dir: Path, findings: list[Finding], *, by: str = "") -> dict[str, Any]:
    """Keep a full check as the latest result and append it to the history; the result."""
    result = {
        "at": utcnow().isoformat(),
        "by": by,
        "ok": all(f.ok for f in findings),
        "checks": [f.as_dict() for f in findings],
    }
    _write_json(data_dir / LATEST, result)
    path = data_dir / HISTORY
    lines = path.read_text().splitlines() if path.is_file() else []
    lines = [*lines, json.dumps(result, ensure_ascii=False, default=str)][-KEEP:]
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=f".{HISTORY}")
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return result


def latest_result(data_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((data_dir / LATEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def history(data_dir: Path, limit: int = 10) -> list[dict[str, Any]]:
    """Earlier results, newest first."""
    try:
        lines = (data_dir / HISTORY).read_text().splitlines()
    except OSError:
        return []
    out = []
    for line in reversed(lines):
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            out.append(item)
        if len(out) >= limit:
            break
    return out
