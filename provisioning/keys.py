"""Replacing a kiosk's key (`faplink provision rotate-key`), safe against a lost answer.

The new key is written next to the old one (node.key.new, sealed under the post's
data key like node.key) before central is
asked; it replaces node.key only once central has confirmed. If central's
answer was lost, the next attempt first asks whether central already knows
the new key, so the kiosk never ends with a key central does not accept.
"""

from __future__ import annotations

import base64
import os

from enrolment.bundle import fingerprint
from enrolment.protocol import rotation_proof_message
from sync.clock import utcnow
from sync.errors import BadSignatureError
from sync.request_signing import NodeKey

from .layout import NodeDir
from .link import FleetLink

__all__ = ["rotate_key"]


def rotate_key(nd: NodeDir, *, clock_offset_ms: int | None = None, timeout: float = 15.0) -> NodeKey:
    """Make a new key, have central accept it (signed with the old one), then switch to it."""
    identity = nd.identity()
    pending = nd.root / "node.key.new"
    old = nd.node_key()
    link = FleetLink.to(
        identity.central_url, identity.node_id, old, clock_offset_ms=clock_offset_ms, timeout=timeout
    )
    if pending.is_file():
        new = nd.node_key(pending)
        try:
            link.call("GET", "/whoami", key=new)
        except BadSignatureError:
            pass  # central still holds the old key: offer the same new one again
        else:
            return _switch(nd, pending, old, new)
    else:
        new = NodeKey.generate()
        nd.save_node_key(new, pending)
    proof = base64.b64encode(new.sign(rotation_proof_message(identity.node_id, new.public_hex))).decode()
    link.call("POST", "/rotate-key", {"public_key": new.public_hex, "proof": proof})
    return _switch(nd, pending, old, new)


def _switch(nd: NodeDir, pending: os.PathLike[str], old: NodeKey, new: NodeKey) -> NodeKey:
    os.replace(pending, nd.key_file)
    nd.update_record(rotate_pending=False, key_rotated_at=utcnow().isoformat())
    nd.log("key_rotated", old=fingerprint(old.public_hex), new=fingerprint(new.public_hex))
    return new
