"""What keeps a node from opening its data directory, said in one line with what to do.

These are raised before the node serves anything (`faplink node run`, the kiosk, `node
check`): a damaged node.json, a missing or unreadable node.key, a database that is
missing, empty, damaged or behind what it had committed. Each message names the file
and the way out: a restore from a backup into a new directory, or a new enrolment.
"""

from __future__ import annotations

from i18n import N_
from sync.errors import SyncError

__all__ = ["N_", "NodeError", "IdentityDamaged", "NodeKeyError", "DatabaseRefused", "NoRoomOnDisk"]


class NodeError(SyncError):
    """Root of the node's own errors (a SyncError, so pages and terminals translate it alike)."""

    code = "node"


class IdentityDamaged(NodeError):
    """node.json cannot be read: the node does not know who it is."""

    code = "node_identity"


class NodeKeyError(NodeError):
    """node.key is missing, damaged, or does not open with the post's data key."""

    code = "node_key"


class DatabaseRefused(NodeError):
    """node.db is missing, empty, damaged, or holds less than it had committed: the node
    refuses it rather than build an empty one over the post's records."""

    code = "node_database"


class NoRoomOnDisk(NodeError):
    """The data directory's disk is full: the database does not open, and nothing is lost."""

    code = "disk_full"
