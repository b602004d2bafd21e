"""A node's data directory: which file is what, and provisioning's own notes (provision.json).

node.json and node.key belong to the node's identity (node/identity.py);
provision.json records how the kiosk was enrolled and the centre key it pins;
provision.log keeps one JSON line per provisioning event (enrolled, key
rotated, backed up, restored, decommissioned) for the engineer who comes next.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.identity import NodeIdentity, NodeNotEnrolled
from node.running import running_pid
from sync.clock import utcnow

from .bundle import fingerprint
from .errors import N_, ProvisioningError

__all__ = ["NodeDir", "fingerprint", "write_json", "read_json"]


def write_json(path: Path, data: Any, mode: int = 0o644) -> None:
    """Write JSON atomically: a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}")
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, ensure_ascii=False, indent=2, default=str)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


@dataclass(frozen=True)
class NodeDir:
    """The files of one node's data directory."""

    root: Path

    @property
    def identity_file(self) -> Path:
        return self.root / "node.json"

    @property
    def key_file(self) -> Path:
        return self.root / "node.key"

    @property
    def database(self) -> Path:
        return self.root / "node.db"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @property
    def status_file(self) -> Path:
        return self.root / "sync-status.json"

    @property
    def record_file(self) -> Path:
        return self.root / "provision.json"

    @property
    def selftest_file(self) -> Path:
        return self.root / "selftest.json"

    @property
    def ca_file(self) -> Path:
        return self.root / "centre-ca.crt"

    @property
    def log_file(self) -> Path:
        return self.root / "provision.log"

    def enrolled(self) -> bool:
        return self.identity_file.is_file()

    def identity(self) -> NodeIdentity:
        try:
            return NodeIdentity.load(self.root)
        except NodeNotEnrolled as exc:
            raise ProvisioningError(
                N_("В каталоге %(dir)s нет зарегистрированного киоска: сначала faplink provision enroll"),
                dir=str(self.root),
            ) from exc

    def refuse_if_running(self) -> None:
        """Refuse to wipe or move the files of a node that is serving them right now."""
        pid = running_pid(self.root)
        if pid is not None:
            raise ProvisioningError(
                N_(
                    "Служба киоска работает (процесс %(pid)s) с каталогом %(dir)s: остановите её "
                    "(systemctl stop faplink-node faplink-kiosk) и повторите"
                ),
                pid=pid or "?",
                dir=str(self.root),
            )

    def record(self) -> dict[str, Any]:
        """provision.json: how this kiosk was enrolled and what it pins (empty if never)."""
        data = read_json(self.record_file, {})
        return data if isinstance(data, dict) else {}

    def update_record(self, **changes: Any) -> dict[str, Any]:
        data = {**self.record(), **changes}
        write_json(self.record_file, data)
        return data

    def sync_status(self) -> dict[str, Any]:
        data = read_json(self.status_file, {})
        return data if isinstance(data, dict) else {}

    def log(self, event: str, **details: Any) -> None:
        """Append one provisioning event to provision.log (kept even after a decommission)."""
        self.root.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"at": utcnow().isoformat(), "event": event, **details}, ensure_ascii=False)
        with self.log_file.open("a") as out:
            out.write(line + "\n")
