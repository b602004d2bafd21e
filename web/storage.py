"""Binding an app to its database and blob store: the same steps on central and node."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from flask import Flask
from peewee import Database

from domain.models import configure_deadlines
from sync.blobs import BlobStore
from sync.changes import latest_stamp
from sync.db import bind_replica
from sync.migrations import Migration, migrate

__all__ = ["init_storage"]


def init_storage(
    app: Flask,
    db: Database,
    *,
    replica_id: str,
    side_migrations: Sequence[Migration],
    data_dir: Path,
    blob_key: bytes | None = None,
) -> None:
    """Migrate, continue the replica's clock, apply deadlines, open blobs, close per request.

    `blob_key` seals the files (a post's); central's are plain on the server's disk."""
    migrate(db, side_migrations)
    bind_replica(replica_id, latest_stamp())
    if app.config.get("DEADLINE_MINUTES"):
        configure_deadlines(app.config["DEADLINE_MINUTES"])
    app.extensions["blobs"] = BlobStore(data_dir / "blobs", key=blob_key)

    @app.teardown_appcontext
    def _close_db(exc: BaseException | None) -> None:
        if not db.is_closed():
            db.close()
