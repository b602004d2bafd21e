"""What node and central agree on for the fleet routes (no imports of node or central)."""

from __future__ import annotations

__all__ = ["FLEET_PATH", "rotation_proof_message"]

#: Where central serves the node-facing fleet routes (under /sync/, so they are
#: exempt from the browsers' CSRF check and answer errors as JSON).
FLEET_PATH = "/sync/fleet"


def rotation_proof_message(node_id: str, new_public_hex: str) -> bytes:
    """What the node signs with its NEW key, proving it holds it."""
    return f"faplink-rotate-key\n{node_id}\n{new_public_hex}".encode()
