"""`faplink provision status`: who this kiosk is, where its sync stands, how healthy it is.

Reads the data directory and the database without starting the node, and
does not disturb a node that is running (its sync-status.json is only read).
"""

from __future__ import annotations

from typing import Any

from domain.migrations import SCHEMA_VERSION
from domain.models import Attachment, Organization
from enrolment.bundle import fingerprint
from sync import PROTOCOL_VERSION
from sync.blobs import BlobStore
from sync.changes import pending_counts
from sync.db import open_database
from sync.migrations import applied
from sync.state import Cursor, PendingRecord

from .layout import NodeDir
from .report import software_version
from .selftest import last_selftest

__all__ = ["node_status", "local_queues"]


def local_queues(nd: NodeDir, node_id: str) -> dict[str, Any]:
    """Queue sizes and the post's name, read from node.db (opened and bound here)."""
    db = open_database(nd.database, nd.database_key())
    try:
        migrations = applied(db)
        counts = pending_counts(Cursor.read("push"), node_id)
        store = BlobStore(nd.blobs)
        wanted = {a.sha256 for a in Attachment.live().select(Attachment.sha256).distinct()}
        return {
            "queues": {
                "emergency": counts["emergency"],
                "records": counts["records"],
                "blobs_up": counts["blobs_up"],
                "blobs_down": sum(1 for sha in wanted if not store.has(sha)),
                "pending_parents": PendingRecord.select().count(),
            },
            "cursors": {"push": Cursor.read("push"), "pull": Cursor.read("pull")},
            "database_migrations": sorted(migrations),
        }
    finally:
        db.close()


def _post_name(nd: NodeDir, organization_id: str) -> str:
    db = open_database(nd.database, nd.database_key())
    try:
        row = Organization.get_or_none(Organization.id == organization_id)
        return str(row.name) if row is not None else ""
    finally:
        db.close()


def node_status(nd: NodeDir) -> dict[str, Any]:
    """Everything an engineer asks first, as one JSON-ready dict."""
    identity = nd.identity()
    record = nd.record()
    try:
        key_fp = fingerprint(nd.node_key().public_hex)
    except Exception as exc:  # a broken key is part of the status, not a crash
        key_fp = f"ошибка: {exc}"
    sync = nd.sync_status()
    out: dict[str, Any] = {
        "node_id": identity.node_id,
        "organization_id": identity.organization_id,
        "post": _post_name(nd, identity.organization_id) if nd.database.is_file() else "",
        "central_url": identity.central_url,
        "data_dir": str(nd.root),
        "key_fingerprint": key_fp,
        "enrolled_via": record.get("enrolled_via", ""),
        "enrolled_at": record.get("enrolled_at", ""),
        "centre_bundle_key": fingerprint(record["centre_bundle_key"])
        if record.get("centre_bundle_key")
        else "",
        "key_from_bundle_pending_rotation": bool(record.get("rotate_pending")),
        "sync": {
            "state": sync.get("state", "never"),
            "last_success": sync.get("last_success"),
            "last_attempt": sync.get("last_attempt"),
            "last_error": sync.get("last_error"),
            "clock_offset_ms": sync.get("clock_offset_ms"),
        },
        "versions": {"software": software_version(), "schema": SCHEMA_VERSION, "protocol": PROTOCOL_VERSION},
        "self_test": last_selftest(nd),
    }
    if nd.database.is_file():
        out.update(local_queues(nd, identity.node_id))
    return out
