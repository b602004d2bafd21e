"""A node's data directory: which file is what, and provisioning's own notes (provision.json).

node.json and node.key belong to the node's identity (node/identity.py; node.key is
sealed under the post's data key, node/nodekey.py);
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

from enrolment.bundle import fingerprint
from node.datakey import DataKey, find_data_key
from node.identity import NodeIdentity, NodeNotEnrolled
from node.nodekey import key_file_state, read_node_key, write_node_key
from node.running import running_pid
from sync.clock import utcnow
from sync.db import is_plain_sqlite
from sync.request_signing import NodeKey

from .errors import N_, DataLockedError, ProvisioningError

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


#: Data keys opened in this process (by enrolment, a feldsher's login, recovery), per directory.
_OPENED: dict[Path, DataKey] = {}


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

    # -- the post's data key (node/datakey.py) ---------------------------------------

    def remember_key(self, key: DataKey) -> None:
        """Use `key` for this directory's data for the rest of this process."""
        _OPENED[self.root] = key

    def data_key(self) -> DataKey | None:
        """The post's data key (remembered, the TPM's, or the demo's key file); None while the
        database is absent or still plain (an older version's). DataLockedError otherwise."""
        if self.root in _OPENED:
            return _OPENED[self.root]
        key = find_data_key(self.root)
        if key is not None:
            self.remember_key(key)
            return key
        if not self.database.is_file() or is_plain_sqlite(self.database):
            return None
        raise DataLockedError(
            N_(
                "Данные киоска зашифрованы, а ключ не открыт: войдите логином и паролем фельдшера "
                "(команда спросит их) или восстановите ключ через центр (faplink provision recover)"
            )
        )

    def database_key(self) -> bytes | None:
        """node.db's SQLCipher key (None for a plain database of an older version)."""
        if not self.database.is_file() or is_plain_sqlite(self.database):
            return None
        key = self.data_key()
        return key.database_key if key is not None else None

    def node_key(self, path: Path | None = None) -> NodeKey:
        """The kiosk's signing key (node.key, or `path`), unsealed with the post's data key."""
        path = path or self.key_file
        data_key = self.data_key() if key_file_state(path) == "sealed" else None
        return read_node_key(path, data_key)

    def save_node_key(self, key: NodeKey, path: Path | None = None) -> None:
        """Write the kiosk's key, sealed under the data key (plain only on an older, plain post)."""
        write_node_key(path or self.key_file, key, self.data_key())

    def node_config(self, **settings: Any) -> dict[str, Any]:
        """The settings for `node.create_app` on this directory, with the data key if open."""
        key = self.data_key()
        return {"DATA_DIR": self.root, **({"DATA_KEY": key.raw} if key is not None else {}), **settings}

    def identity(self) -> NodeIdentity:
        """node.json, with the data key if this process has opened it (node.key needs it)."""
        try:
            identity = NodeIdentity.load(self.root)
            identity.data_key = _OPENED.get(self.root)
            return identity
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
