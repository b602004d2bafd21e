"""`faplink provision diagnose`: one archive for support, with no patient data in it.

It holds the status, a fresh self-test, the node's settings and provisioning
log, the sync status, the database's shape (tables and row counts, never
rows), the environment, and the services' recent logs. Logs pass through a
scrubber that masks identity numbers, phone numbers and the names of the
post's patients (read from the kiosk's own database); keys and the session
secret are never included.
"""

from __future__ import annotations

import io
import json
import platform
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterable
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

from sync.clock import utcnow
from sync.db import FILE_ERRORS, connect_file

from .layout import NodeDir, read_json
from .selftest import run_checks
from .status import node_status

__all__ = ["Scrubber", "diagnose", "UNITS"]

UNITS = ("faplink-node.service", "faplink-kiosk.service")
_README = """faplink: диагностика киоска для технической поддержки.
Внутри: состояние (status.json), самопроверка (selftest.json), настройки узла (node.json,
provision.json, provision.log), состояние синхронизации, устройство базы данных (только
таблицы и число строк), окружение и журналы служб. Данных пациентов, ключей и паролей нет:
журналы прошли через фильтр, скрывающий СНИЛС, полисы, телефоны и ФИО пациентов поста.
"""

_NUMBERS = [
    (re.compile(r"\+?7[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}\b|\b8\d{10}\b"), "[телефон]"),
    (re.compile(r"\b\d{3}-\d{3}-\d{3}[\s-]\d{2}\b"), "[СНИЛС]"),
    (re.compile(r"\b\d{16}\b"), "[полис]"),
    (re.compile(r"\b\d{11}\b"), "[СНИЛС]"),
]


class Scrubber:
    """Masks what could identify a patient in free text (logs, error messages)."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        words = sorted({n.strip() for n in names if len(n.strip()) >= 3}, key=len, reverse=True)
        self._names = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None

    @classmethod
    def for_node(cls, nd: NodeDir) -> Scrubber:
        """Names of every patient in the kiosk's database (read directly, read-only)."""
        if not nd.database.is_file():
            return cls()
        conn = connect_file(nd.database, nd.database_key(), read_only=True)
        try:
            rows = conn.execute("SELECT last_name, first_name, middle_name, address FROM patient").fetchall()
        except FILE_ERRORS:
            rows = []
        finally:
            conn.close()
        names: list[str] = []
        for last, first, middle, address in rows:
            names += [f"{last} {first} {middle}".strip(), f"{last} {first}", last or ""]
            names += [address or ""]
        return cls(names)

    def __call__(self, text: str) -> str:
        for pattern, mask in _NUMBERS:
            text = pattern.sub(mask, text)
        if self._names is not None:
            text = self._names.sub("[ФИО]", text)
        return text


def _database_shape(nd: NodeDir) -> dict[str, Any]:
    if not nd.database.is_file():
        return {"exists": False}
    conn = connect_file(nd.database, nd.database_key(), read_only=True)
    try:
        tables = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        events: dict[str, int] = {}
        if "syncevent" in tables or "sync_event" in tables:
            table = "sync_event" if "sync_event" in tables else "syncevent"
            events = dict(conn.execute(f'SELECT kind, count(*) FROM "{table}" GROUP BY kind').fetchall())
        return {
            "exists": True,
            "size_bytes": nd.database.stat().st_size,
            "page_size": conn.execute("PRAGMA page_size").fetchone()[0],
            "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
            "rows": counts,
            "sync_events": events,  # kinds only: their details may quote patients' fields
        }
    finally:
        conn.close()


def _environment(nd: NodeDir) -> dict[str, Any]:
    usage = shutil.disk_usage(nd.root)
    return {
        "python": sys.version,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "disk": {"total": usage.total, "free": usage.free},
        "packages": sorted(f"{d.metadata['Name']}=={d.version}" for d in distributions()),
    }


def _journal(since: str) -> str:
    """The services' journal, if journalctl is here and lets us read it."""
    command = ["journalctl", "--no-pager", "--since", since]
    for unit in UNITS:
        command += ["-u", unit]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"journalctl недоступен: {exc}\n"
    return done.stdout or done.stderr


def diagnose(
    nd: NodeDir,
    out: Path,
    *,
    logs: Iterable[Path] = (),
    journal_since: str | None = "-3d",
    online: bool = True,
) -> list[str]:
    """Write the support archive to `out`; returns the names of what it holds."""
    scrub = Scrubber.for_node(nd)
    members: dict[str, str] = {"README.txt": _README}

    def as_json(data: Any) -> str:
        return scrub(json.dumps(data, ensure_ascii=False, indent=2, default=str))

    try:
        members["status.json"] = as_json(node_status(nd))
    except Exception as exc:  # a broken kiosk is exactly what support needs to see
        members["status.json"] = as_json({"error": f"{type(exc).__name__}: {exc}"})
    members["selftest.json"] = as_json(run_checks(nd, online=online, save=False).as_dict())
    for name in ("node.json", "provision.json", "sync-status.json"):
        data = read_json(nd.root / name)
        if data is not None:
            members[name] = as_json(data)
    if nd.log_file.is_file():
        members["provision.log"] = scrub(nd.log_file.read_text(errors="replace"))
    members["database.json"] = as_json(_database_shape(nd))
    members["environment.json"] = as_json(_environment(nd))
    if journal_since:
        members["logs/journal.txt"] = scrub(_journal(journal_since))
    for path in logs:
        try:
            members[f"logs/{path.name}"] = scrub(path.read_text(errors="replace")[-5_000_000:])
        except OSError as exc:
            members[f"logs/{path.name}"] = f"не прочитан: {exc}\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    stamp = int(utcnow().timestamp())
    with tarfile.open(out, mode="w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(f"faplink-diagnose/{name}")
            info.size, info.mtime = len(data), stamp
            tar.addfile(info, io.BytesIO(data))
    return list(members)
