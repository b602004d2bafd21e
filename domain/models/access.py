"""«Журнал доступа»: who opened which record, append-only and hash-chained per writer.

Every view of a patient's card, an appeal, a protocol or a file, every search, export and
login is one `AccessEntry`. Each writer (a post's node, central) keeps its own chain: a
row holds the SHA-256 of the previous row of its writer and its own, over a canonical form
of its fields, so an edited row, a row deleted from the middle, or (where the writer's
chain head is kept: its own rows) one cut from the end, is found by `verify_chains`.

A post's rows travel to central like any record the post owns (append-only in its
contract); a post pulls none of them back, not even its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from peewee import BigIntegerField, CharField, DateTimeField, Expression, ForeignKeyField, TextField

from sync.clock import utcnow
from sync.db import database, replica
from sync.model import BaseModel, SyncModel

from .directory import Organization, Staff

__all__ = [
    "AccessEntry",
    "AccessChainHead",
    "AccessAction",
    "ChainBreak",
    "GENESIS",
    "append_entry",
    "verify_chains",
]

#: What the first row of a chain names as its previous row.
GENESIS = "0" * 64


class AccessAction:
    """What was done: the kind of access."""

    VIEW = "view"  # a page or an API answer showing the record
    DOWNLOAD = "download"  # a file's or a PDF's bytes
    PREVIEW = "preview"  # a file shown inside a page
    SEARCH = "search"
    EXPORT = "export"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    ALL = (VIEW, DOWNLOAD, PREVIEW, SEARCH, EXPORT, LOGIN, LOGIN_FAILED)


class AccessEntry(SyncModel):
    """One access to personal data, by one person (or one failed login), at one time."""

    #: The row's place in its writer's (`origin`'s) chain, from 1.
    position = BigIntegerField()
    at = DateTimeField(default=utcnow, index=True)
    staff = ForeignKeyField(Staff, null=True, backref="accesses")
    role = CharField(max_length=16, default="")
    #: Where the writer is: the post itself at a node, the person's centre at central.
    organization = ForeignKeyField(Organization, null=True, backref="accesses")
    address = CharField(max_length=64, default="")
    action = CharField(max_length=16)
    #: What was opened: patient, appeal, protocol, attachment, exam, fhir…; "" for a login.
    kind = CharField(max_length=24, default="")
    record = CharField(max_length=64, default="")
    #: The patient whose data it was, when there is one.
    patient = CharField(max_length=36, default="", index=True)
    #: Other records shown or exported (space-separated ids): a search's results, a bundle's.
    records = TextField(default="")
    #: A failed login's name, hashed (never the name itself, never the password).
    login_hash = CharField(max_length=64, default="")
    #: Which fields a search used, an FHIR interaction…: never a searched value.
    detail = CharField(max_length=200, default="")
    prev_hash = CharField(max_length=64)
    row_hash = CharField(max_length=64)

    staff_id: str | None
    organization_id: str | None

    #: The canonical form's fields, in the order they are hashed (with `id` and the writer).
    CHAINED: ClassVar[tuple[str, ...]] = (
        "position",
        "at",
        "staff",
        "role",
        "organization",
        "address",
        "action",
        "kind",
        "record",
        "patient",
        "records",
        "login_hash",
        "detail",
        "prev_hash",
    )
    #: Central keeps the posts' rows; a post pulls none back (not even its own).
    PULLED_BY_POSTS: ClassVar[bool] = False

    class Meta:
        indexes = (
            (("origin", "position"), False),
            (("staff", "at"), False),
            (("patient", "at"), False),
        )

    def canonical(self) -> bytes:
        """The bytes the row's hash is taken over: its id, writer and chained fields."""
        data: dict[str, Any] = {"id": self.id, "writer": self.origin}
        for name in self.CHAINED:
            value = self.__data__.get(name)
            if isinstance(value, datetime):
                value = value.isoformat(timespec="microseconds")
            data[name] = value if value is not None else ""
        return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

    def computed_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    @classmethod
    def scope_for_post(cls, organization_id: str) -> Expression:
        """The post's own rows: what it may write (it pulls none, see `PULLED_BY_POSTS`)."""
        return cls.organization == organization_id


class AccessChainHead(BaseModel):
    """The last row of a writer's own chain (not replicated): appends queue on this row, and a
    row cut from the chain's end shows as a head that names a row no longer there."""

    writer = CharField(primary_key=True, max_length=64)
    position = BigIntegerField(default=0)
    last_hash = CharField(max_length=64, default=GENESIS)


def append_entry(**fields: Any) -> AccessEntry:
    """Append a row to this replica's chain (its own transaction, or the caller's)."""
    writer = replica().id
    with database.atomic():
        AccessChainHead.insert(writer=writer).on_conflict_ignore().execute()
        # Taking the next position locks the head row until commit: appends of several
        # threads or instances (PostgreSQL) line up here, each after the previous one.
        taken = (
            AccessChainHead.update(position=AccessChainHead.position + 1)
            .where(AccessChainHead.writer == writer)
            .returning(AccessChainHead.position, AccessChainHead.last_hash)
            .execute()
        )
        head = next(iter(taken))
        entry = AccessEntry(origin=writer, position=int(head.position), prev_hash=head.last_hash, **fields)
        entry.row_hash = entry.computed_hash()
        entry.save(force_insert=True)
        AccessChainHead.update(last_hash=entry.row_hash).where(AccessChainHead.writer == writer).execute()
    return entry


@dataclass(frozen=True)
class ChainBreak:
    """The first row of a writer's chain that does not hold, and why."""

    writer: str
    position: int
    entry_id: str
    reason: str

    def __str__(self) -> str:
        return f"chain {self.writer}: row {self.position} ({self.entry_id or '—'}): {self.reason}"


def _first_break(writer: str, rows: Iterable[AccessEntry]) -> ChainBreak | None:
    expected, previous, last_id = 1, GENESIS, ""
    for row in rows:
        position = int(row.position)
        if position < expected:
            return ChainBreak(writer, position, row.id, "a second row at this position (a forged fork)")
        if position > expected:
            return ChainBreak(
                writer, position, row.id, f"rows {expected}–{position - 1} before it are missing (deleted)"
            )
        if row.deleted:
            return ChainBreak(writer, position, row.id, "marked deleted")
        if row.prev_hash != previous:
            return ChainBreak(
                writer, position, row.id, "does not follow the row before it (that row was changed)"
            )
        if row.computed_hash() != row.row_hash:
            return ChainBreak(writer, position, row.id, "changed after it was written")
        expected, previous, last_id = position + 1, row.row_hash, row.id
    head = AccessChainHead.get_or_none(AccessChainHead.writer == writer)
    if head is not None and (int(head.position) != expected - 1 or head.last_hash != previous):
        return ChainBreak(
            writer,
            int(head.position),
            last_id,
            f"the chain ends at row {expected - 1} but was written up to row {head.position} "
            "(rows at its end deleted or changed)",
        )
    return None


def _rows_of(writer: str) -> Iterator[AccessEntry]:
    query = AccessEntry.select().where(AccessEntry.origin == writer).order_by(AccessEntry.position)
    return iter(query.iterator())


def verify_chains() -> tuple[int, list[ChainBreak]]:
    """Check every writer's chain; returns the rows checked and each broken chain's first break."""
    writers = {row.origin for row in AccessEntry.select(AccessEntry.origin).distinct()}
    writers |= {row.writer for row in AccessChainHead.select(AccessChainHead.writer)}
    breaks: list[ChainBreak] = []
    for writer in sorted(writers):
        found = _first_break(writer, _rows_of(writer))
        if found is not None:
            breaks.append(found)
    return AccessEntry.select().count(), breaks
