"""Who this node is: node.json (node id, post, central URL) and its Ed25519 key (node.key)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync.request_signing import NodeKey
from sync.session import CentralSession, Trust

from .datakey import DataKey
from .errors import N_, IdentityDamaged
from .nodekey import read_node_key

__all__ = ["NodeIdentity", "NodeNotEnrolled"]


class NodeNotEnrolled(RuntimeError):
    """The data directory has no node.json: the kiosk was not enrolled yet."""


@dataclass
class NodeIdentity:
    node_id: str
    organization_id: str
    central_url: str
    data_dir: Path
    #: Central's clock minus ours, measured at enrolment (before any sync round).
    clock_offset_ms: int = 0
    #: The post's data key, once the node has opened it: node.key is sealed under it.
    data_key: DataKey | None = field(default=None, repr=False, compare=False)

    @property
    def key_path(self) -> Path:
        return self.data_dir / "node.key"

    def key(self) -> NodeKey:
        """The kiosk's signing key (node/nodekey.py: sealed under the data key)."""
        return read_node_key(self.key_path, self.data_key)

    def session(self, *, verify: Trust = True) -> CentralSession:
        """A signed session with central as this node; until measured, the enrolment's clock offset."""
        return CentralSession(
            self.central_url,
            self.node_id,
            self.key(),
            verify=verify,
            clock_offset_ms=self.clock_offset_ms or None,
        )

    @classmethod
    def load(cls, data_dir: Path) -> NodeIdentity:
        path = data_dir / "node.json"
        if not path.is_file():
            raise NodeNotEnrolled(f"{path} not found: enrol this kiosk first (faplink provision enroll …)")
        try:
            data: Any = json.loads(path.read_text())
            return cls(
                node_id=str(data["node_id"]),
                organization_id=str(data["organization_id"]),
                central_url=str(data["central_url"]),
                data_dir=data_dir,
                clock_offset_ms=int(data.get("clock_offset_ms", 0)),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IdentityDamaged(
                N_(
                    "Файл регистрации киоска %(path)s повреждён: восстановите киоск из резервной копии "
                    "в новый каталог (faplink provision restore --from АРХИВ --data КАТАЛОГ) или "
                    "зарегистрируйте его заново (faplink provision enroll --force)"
                ),
                path=str(path),
            ) from exc

    def save(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        data = {
            "node_id": self.node_id,
            "organization_id": self.organization_id,
            "central_url": self.central_url,
            "clock_offset_ms": self.clock_offset_ms,
        }
        fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".node")
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2)
        os.replace(tmp, self.data_dir / "node.json")
