"""«Журнал доступа»: who opened which record, append-only and hash-chained per writer.

Every view of a patient's card, an appeal, a protocol or a file, every search, export and
login is one `AccessEntry`. Each writer (a post's node, central) keeps its own chain: a
row holds the SHA-256 of the previous row of its writer and its own, over a canonical form
of its fields, so an edited row, a row deleted from the middle, or (where the writer's
chain head is kept: its own rows) one cut from the end, is found by `verify_chains`.

A post restored from a backup continues its chain from the backup's head, and the restore
itself is the first row of that continuation (`AccessAction.RESTORE`). Central may hold
the replaced machine's later rows too: two rows then follow the same row, a fork that the
restore row records (`restore_forks`). Any other second row at a position is a forgery.

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
    "ChainFork",
    "GENESIS",
    "append_entry",
    "verify_chains",
    "restore_forks",
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
    #: The post's data restored from a backup (the row continues the backup's chain).
    RESTORE = "restore"
    ALL = (VIEW, DOWNLOAD, PREVIEW, SEARCH, EXPORT, LOGIN, LOGIN_FAILED, RESTORE)


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

    @classmethod
    def post_pairs(cls, ids: list[str]) -> Any:
        return cls.select(cls.id, cls.organization).where(cls.id.in_(ids) & cls.organization.is_null(False))


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
    """The first row (in position order) that does not follow a row before it, or was changed.

    Every row follows the row its `prev_hash` names, one position before it (the first
    follows GENESIS). A row already followed may be followed again only by a restore."""
    known: dict[str, int] = {GENESIS: 0}  # row hash -> its position
    followed: set[str] = set()  # rows a row other than a restore follows
    occupied: set[int] = set()
    last, last_id = 0, ""
    for row in rows:
        position = int(row.position)
        if position > last + 1:
            return ChainBreak(
                writer, position, row.id, f"rows {last + 1}–{position - 1} before it are missing (deleted)"
            )
        if known.get(row.prev_hash) != position - 1:
            if position in occupied:
                return ChainBreak(writer, position, row.id, "a second row at this position (a forged fork)")
            return ChainBreak(
                writer, position, row.id, "does not follow the row before it (that row was changed)"
            )
        if row.action != AccessAction.RESTORE:
            if row.prev_hash in followed:
                return ChainBreak(writer, position, row.id, "a second row at this position (a forged fork)")
            followed.add(row.prev_hash)
        if row.deleted:
            return ChainBreak(writer, position, row.id, "marked deleted")
        if row.computed_hash() != row.row_hash:
            return ChainBreak(writer, position, row.id, "changed after it was written")
        known[row.row_hash] = position
        occupied.add(position)
        if position > last:
            last, last_id = position, row.id
    head = AccessChainHead.get_or_none(AccessChainHead.writer == writer)
    if head is not None and (int(head.position) != last or known.get(head.last_hash) != last):
        return ChainBreak(
            writer,
            int(head.position),
            last_id,
            f"the chain ends at row {last} but was written up to row {head.position} "
            "(rows at its end deleted or changed)",
        )
    return None


def _rows_of(writer: str) -> Iterator[AccessEntry]:
    query = AccessEntry.select().where(AccessEntry.origin == writer).order_by(AccessEntry.position)
    return iter(query.iterator())


@dataclass(frozen=True)
class ChainFork:
    """Where a writer's chain goes on from a backup: a restore, and the row it follows."""

    writer: str
    position: int
    entry_id: str
    at: datetime

    def __str__(self) -> str:
        return (
            f"chain {self.writer}: row {self.position} ({self.entry_id}): restored from a backup "
            f"on {self.at.isoformat(sep=' ', timespec='seconds')} UTC, goes on from row {self.position - 1}"
        )


def restore_forks() -> list[ChainFork]:
    """Every restore from a backup recorded in any chain, by writer and position."""
    query = (
        AccessEntry.select(AccessEntry.origin, AccessEntry.position, AccessEntry.id, AccessEntry.at)
        .where(AccessEntry.action == AccessAction.RESTORE)
        .order_by(AccessEntry.origin, AccessEntry.position)
    )
    return [ChainFork(row.origin, int(row.position), row.id, row.at) for row in query]


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
