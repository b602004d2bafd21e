"""The engine's own bookkeeping tables (not replicated).

Each side creates the ones it uses through `NODE_MIGRATIONS` / `CENTRAL_MIGRATIONS`.
"""

from __future__ import annotations

from typing import Any

from peewee import BigIntegerField, BooleanField, CharField, CompositeKey, DateTimeField, TextField

from .clock import utcnow
from .migrations import Migration
from .model import BaseModel
from .statements import Prepared

__all__ = [
    "PendingRecord",
    "Cursor",
    "UploadedBlob",
    "KnownNode",
    "SeenNonce",
    "EnrolmentToken",
    "SyncEvent",
    "BlobHolder",
    "NODE_MIGRATIONS",
    "CENTRAL_MIGRATIONS",
]


class PendingRecord(BaseModel):
    """A received record whose parent has not arrived yet; retried after every batch."""

    model = CharField(max_length=64)
    record_id = CharField(max_length=36)
    hlc = CharField(max_length=96)
    payload = TextField()  # the record as received (JSON)
    from_central = BooleanField()
    scope_org = CharField(max_length=36, null=True)  # the sending post, at central
    error = TextField(default="")
    received_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("model", "record_id"), True),)


class Cursor(BaseModel):
    """A position the node has reached: `push` (own change seq) and `pull` (central's)."""

    name = CharField(primary_key=True, max_length=32)
    value = BigIntegerField(default=0)

    @classmethod
    def read(cls, name: str) -> int:
        row = cls.get_or_none(cls.name == name)
        return row.value if row else 0

    @classmethod
    def write(cls, name: str, value: int) -> None:
        cls.insert(name=name, value=value).on_conflict(
            conflict_target=[cls.name], update={cls.value: value}
        ).execute()


class UploadedBlob(BaseModel):
    """A blob of ours that central has confirmed holding in full (node side)."""

    sha256 = CharField(primary_key=True, max_length=64)
    confirmed_at = DateTimeField(default=utcnow)


class KnownNode(BaseModel):
    """A node enrolled at central: its post, its Ed25519 public key, and whether it is revoked."""

    node_id = CharField(primary_key=True, max_length=64)
    organization_id = CharField(max_length=36, index=True)
    public_key = CharField(max_length=64)  # raw Ed25519 key, hex
    revoked = BooleanField(default=False)
    enrolled_at = DateTimeField(default=utcnow)
    last_seen = DateTimeField(null=True)
    schema_version = BigIntegerField(default=0)
    software_version = CharField(max_length=32, default="")
    clock_offset_ms = BigIntegerField(default=0)

    @classmethod
    def find(cls, node_id: str) -> KnownNode | None:
        """The node enrolled with this id, or None: asked by every signed request, so its SQL is
        built once (a fresh row each time, so that a revocation counts from the next request)."""
        return _KNOWN_NODE.first(cls, node_id=node_id)  # type: ignore[no-any-return]


_KNOWN_NODE = Prepared(lambda bind: KnownNode.select().where(KnownNode.node_id == bind("node_id", "")))


class SeenNonce(BaseModel):
    """Nonces of recent signed requests, kept for the replay window."""

    node_id = CharField(max_length=64)
    nonce = CharField(max_length=64)
    seen_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("node_id", "nonce"), True),)


class EnrolmentToken(BaseModel):
    """A one-time, expiring token an administrator issues for one post's kiosk."""

    token_hash = CharField(primary_key=True, max_length=64)  # sha256 of the token
    organization_id = CharField(max_length=36, index=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    created_by = CharField(max_length=36, default="")
    note = CharField(max_length=200, default="")
    revoked = BooleanField(default=False)
    used_at = DateTimeField(null=True)
    node_id = CharField(max_length=64, null=True)


class BlobHolder(BaseModel):
    """An organisation that delivered a blob's bytes to central in full (central side).

    Knowing a file's SHA-256 is not having the file: a post may read back bytes it
    delivered itself, or those of attachments central made in its scope, and nothing else.
    """

    sha256 = CharField(max_length=64)
    organization_id = CharField(max_length=36)
    received_at = DateTimeField(default=utcnow)

    class Meta:
        primary_key = CompositeKey("sha256", "organization_id")


class SyncEvent(BaseModel):
    """An audit line of the sync: refused records, merges that kept the other side's value."""

    at = DateTimeField(default=utcnow, index=True)
    peer = CharField(max_length=64)
    kind = CharField(max_length=32)
    model = CharField(max_length=64, default="")
    record_id = CharField(max_length=36, default="")
    detail = TextField(default="")


def _node_tables(db, migrator) -> None:  # type: ignore[no-untyped-def]
    db.create_tables([PendingRecord, Cursor, SyncEvent], safe=True)


def _central_tables(db, migrator) -> None:  # type: ignore[no-untyped-def]
    db.create_tables([PendingRecord, KnownNode, SeenNonce, SyncEvent, EnrolmentToken], safe=True)


def _uploaded_blobs(db, migrator) -> None:  # type: ignore[no-untyped-def]
    db.create_tables([UploadedBlob], safe=True)


NODE_MIGRATIONS = [
    Migration("sync.node.0001_state", _node_tables),
    Migration("sync.node.0002_uploaded_blobs", _uploaded_blobs),
]


def _blob_holders(db, migrator) -> None:  # type: ignore[no-untyped-def]
    """Who delivered each blob: for blobs received before this table existed, the post of the
    node that first sent a row naming it (central's own rows aside)."""
    from .db import CENTRAL
    from .registry import replication

    db.create_tables([BlobHolder], safe=True)
    blobs = replication().blobs
    model = blobs.model
    first: dict[str, str] = {}
    rows: Any = (
        model.select(blobs.sha256_field.alias("sha256"), KnownNode.organization_id)
        .join(KnownNode, on=(model.origin == KnownNode.node_id))
        .where(model.origin != CENTRAL)
        .order_by(model.seq)
        .dicts()
    )
    for row in rows:
        first.setdefault(row["sha256"], row["organization_id"])
    for sha, post in first.items():
        BlobHolder.insert(sha256=sha, organization_id=post).on_conflict_ignore().execute()


def _queue_indexes(db, migrator) -> None:  # type: ignore[no-untyped-def]
    """The indexes the consultant's paged lists walk, as the domain declares them (central only)."""
    from .registry import replication

    make = replication().central_indexes
    if make is not None:
        make(db)


CENTRAL_MIGRATIONS = [
    Migration("sync.central.0001_state", _central_tables),
    Migration("sync.central.0002_blob_holders", _blob_holders),
    Migration("sync.central.0003_queue_indexes", _queue_indexes),
]
