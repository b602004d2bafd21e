"""Who this node is: node.json (node id, post, central URL) and its Ed25519 key file."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from sync.request_signing import NodeKey
from sync.session import CentralSession, Trust

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

    @property
    def key_path(self) -> Path:
        return self.data_dir / "node.key"

    def key(self) -> NodeKey:
        return NodeKey.load(self.key_path)

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
        data = json.loads(path.read_text())
        return cls(
            node_id=data["node_id"],
            organization_id=data["organization_id"],
            central_url=data["central_url"],
            data_dir=data_dir,
            clock_offset_ms=int(data.get("clock_offset_ms", 0)),
        )

    def save(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data.pop("data_dir")
        fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".node")
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2)
        os.replace(tmp, self.data_dir / "node.json")
