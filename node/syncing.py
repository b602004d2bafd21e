"""Starting the sync worker inside the node process, and reading its status."""

from __future__ import annotations

from flask import Flask, current_app

from sync.blobs import BlobStore
from sync.client import SyncClient, SyncStatus
from sync.session import CentralSession
from sync.state import Cursor
from sync.worker import SyncWorker

from .identity import NodeIdentity

__all__ = ["start_sync", "central_session", "sync_client", "sync_worker", "reached_centre"]


def start_sync(app: Flask, identity: NodeIdentity) -> None:
    blobs: BlobStore = app.extensions["blobs"]
    if not Cursor.read("clock_offset") and identity.clock_offset_ms:
        Cursor.write("clock_offset", identity.clock_offset_ms)
    central = central_session(app, identity)
    client = SyncClient(central, blobs, status_file=identity.data_dir / "sync-status.json")
    worker = SyncWorker(
        client,
        interval=float(app.config["SYNC_INTERVAL"]),
        safety_interval=float(app.config["SYNC_SAFETY_INTERVAL"]),
    )
    app.extensions["sync_client"] = client
    app.extensions["sync_worker"] = worker
    client.refresh_queues()
    if app.config["SYNC_ENABLED"]:
        worker.start()


def central_session(app: Flask, identity: NodeIdentity) -> CentralSession:
    """The node's one signed session with central, shared by the sync, the live link and the
    link measurement; TLS trust from TLS_CA (a CA bundle's path), else the system's store."""
    if "central_session" not in app.extensions:
        app.extensions["central_session"] = identity.session(verify=app.config.get("TLS_CA") or True)
    return app.extensions["central_session"]  # type: ignore[no-any-return]


def sync_client() -> SyncClient:
    return current_app.extensions["sync_client"]


def sync_worker() -> SyncWorker:
    return current_app.extensions["sync_worker"]


def sync_status() -> SyncStatus:
    return sync_client().status


def reached_centre(seq: int, changed_by: str) -> bool:
    """Whether a local change has been accepted by central (it is behind the push cursor)."""
    return changed_by != current_app.extensions["identity"].node_id or seq <= Cursor.read("push")
