"""The base every replicated model inherits: sync metadata and wire conversion."""

from __future__ import annotations

import functools
import json
import math
import uuid
from collections.abc import Callable, Collection
from datetime import date, datetime
from typing import Any, ClassVar, Self

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    Expression,
    Field,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from .db import database, replica
from .errors import MalformedError

__all__ = ["BaseModel", "SyncModel", "SyncSequence", "new_id", "next_seq", "reserve_seqs"]

#: Rows asked of `posts_pulling` in one query: SQLite takes at most 32,766 parameters.
PULLING_BATCH = 500


def new_id() -> str:
    return str(uuid.uuid4())


class BaseModel(Model):
    """Every table, replicated or side-only, lives in the one bound database."""

    class Meta:
        database = database
        legacy_table_names = False


class SyncSequence(BaseModel):
    """The local change sequence: every write to a replicated row takes the next number."""

    name = CharField(primary_key=True, max_length=32)
    value = BigIntegerField(default=0)


def next_seq() -> int:
    """Take the next local change number (call inside the writing transaction)."""
    query = (
        SyncSequence.update(value=SyncSequence.value + 1)
        .where(SyncSequence.name == "changes")
        .returning(SyncSequence.value)
    )
    for row in query.execute():
        return int(row.value)
    raise RuntimeError("database not migrated: the change sequence is missing")


def reserve_seqs(count: int) -> range:
    """Take `count` consecutive change numbers at once (for a batch from a peer)."""
    query = (
        SyncSequence.update(value=SyncSequence.value + count)
        .where(SyncSequence.name == "changes")
        .returning(SyncSequence.value)
    )
    for row in query.execute():
        return range(int(row.value) - count + 1, int(row.value) + 1)
    raise RuntimeError("database not migrated: the change sequence is missing")


class SyncModel(BaseModel):
    """A replicated row: UUID key, creator, last writer, HLC stamp, tombstone, change number.

    New rows are made with `Model.create(...)`; local edits with `save()`.
    Both stamp the row; rows arriving from a peer are written by the sync engine
    with the peer's stamp instead.
    """

    id = CharField(primary_key=True, max_length=36, default=new_id)
    origin = CharField(max_length=64, index=True)
    changed_by = CharField(max_length=64)
    hlc = CharField(max_length=96, index=True)
    deleted = BooleanField(default=False, index=True)
    seq = BigIntegerField(index=True)

    #: Fields the sync engine manages itself; never part of the record's payload.
    SYNC_FIELDS: ClassVar[tuple[str, ...]] = ("id", "origin", "changed_by", "hlc", "deleted", "seq")
    #: True for models whose fields several sides edit: merged field by field by HLC.
    #: Such a model declares `field_stamps = TextField(default="{}")`.
    PER_FIELD: ClassVar[bool] = False
    #: False for records a post writes but never receives (its access audit): the pull, and a
    #: post's bundle, leave them out even where `scope_for_post` lets the post write them.
    PULLED_BY_POSTS: ClassVar[bool] = True

    # -- local writes ----------------------------------------------------------

    def validate(self) -> None:
        """Raise MalformedError for values no side may store (override per model)."""

    def save(self, force_insert: bool = False, only: Any = None) -> int:
        self.validate()
        me = replica()
        with self._meta.database.atomic():
            if force_insert and not self.origin:
                self.origin = me.id
            self.changed_by = me.id
            self.hlc = me.clock.now()
            self.seq = next_seq()
            if self.PER_FIELD:
                self._stamp_fields(force_insert)
            if only is not None:
                only = list(only) + [type(self).changed_by, type(self).hlc, type(self).seq]
            return super().save(force_insert=force_insert, only=only)

    def _stamp_fields(self, new: bool) -> None:
        """Give each field that this save changes the row's new stamp."""
        names = self.merged_field_names()
        stamps: dict[str, str] = json.loads(getattr(self, "field_stamps", None) or "{}")
        if new:
            changed = names
        else:
            stored = type(self).get_or_none(type(self).id == self.id)
            changed = [n for n in names if stored is None or stored.__data__.get(n) != self.__data__.get(n)]
        for name in changed:
            stamps[name] = self.hlc
        self.field_stamps = json.dumps(stamps, sort_keys=True)  # type: ignore[attr-defined]

    @classmethod
    def expand_stamps(cls, fields: dict[str, Any], hlc: str) -> None:
        """Restore the stamps `to_wire` left out: a field without one was stamped at `hlc`."""
        sent = fields.get("field_stamps") or "{}"
        if sent == "{}":
            # A new row (most of what a post pushes): every field at `hlc`, written out as
            # json.dumps(…, sort_keys=True) would, without building and sorting a dict each time.
            fields["field_stamps"] = "{" + ", ".join(key + json.dumps(hlc) for key in _stamp_keys(cls)) + "}"
            return
        stamps = json.loads(sent)
        for name in cls.merged_field_names():
            stamps.setdefault(name, hlc)
        fields["field_stamps"] = json.dumps(stamps, sort_keys=True)

    @classmethod
    def merged_field_names(cls) -> list[str]:
        return [f.name for f in cls.payload_fields() if f.name != "field_stamps"]

    @classmethod
    def merge_fields(
        cls, local: SyncModel, incoming: dict[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Per field, the value with the newer stamp; and the values that lost, for the audit."""
        mine = json.loads(local.__data__.get("field_stamps") or "{}")
        theirs = json.loads(incoming.get("field_stamps") or "{}")
        merged: dict[str, Any] = {}
        stamps: dict[str, str] = {}
        lost: list[dict[str, Any]] = []
        for name in cls.merged_field_names():
            ours, other = mine.get(name, ""), theirs.get(name, "")
            local_value, their_value = local.__data__.get(name), incoming.get(name)
            if other > ours:
                merged[name], stamps[name] = their_value, other
                loser, loser_stamp = local_value, ours
            else:
                merged[name], stamps[name] = local_value, ours
                loser, loser_stamp = their_value, other
            if local_value != their_value:
                lost.append(
                    {
                        "field": name,
                        "lost": loser,
                        "lost_stamp": loser_stamp,
                        "kept": merged[name],
                        "kept_stamp": stamps[name],
                    }
                )
        merged["field_stamps"] = json.dumps({k: v for k, v in stamps.items() if v}, sort_keys=True)
        return merged, lost

    def delete_instance(self, *args: Any, **kwargs: Any) -> int:
        """Replicated rows are never removed: they become tombstones peers learn of."""
        self.deleted = True
        return self.save()

    @classmethod
    def live(cls) -> Any:
        """Rows that are not tombstones."""
        return cls.select().where(cls.deleted == False)  # noqa: E712

    # -- scope -----------------------------------------------------------------

    @classmethod
    def scope_for_post(cls, organization_id: str) -> Expression | None:
        """Filter for the rows a post may see; None means every row (directories)."""
        return None

    @classmethod
    def post_pairs(cls, ids: list[str]) -> Any:
        """The inverse of `scope_for_post`: a query of (row id, organisation id), a pair for each of
        these rows and each organisation whose `scope_for_post` admits it.

        Declared beside `scope_for_post` by every model that has one (and by a model without
        one: every organisation), so that a change is matched to its posts in one query however
        many posts there are; `tests/contract/test_scope_inverse.py` holds the two to one answer."""
        raise NotImplementedError(f"{cls.__name__} declares no inverse of its scope (post_pairs)")

    @classmethod
    def posts_pulling(cls, ids: Collection[str]) -> dict[str, set[str]]:
        """Of these rows, row id → the posts that pull it (none of a model posts never pull):
        what `sync.changes.pulled_by_post` answers post by post, asked once for all posts."""
        pulling: dict[str, set[str]] = {}
        if not cls.PULLED_BY_POSTS:
            return pulling
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), PULLING_BATCH):
            for row_id, post in cls.post_pairs(wanted[start : start + PULLING_BATCH]).tuples():
                pulling.setdefault(row_id, set()).add(post)
        return pulling

    # -- wire format -----------------------------------------------------------

    @classmethod
    def payload_fields(cls) -> list[Field]:
        return list(_payload_fields(cls))

    def to_wire(self) -> dict[str, Any]:
        """The record as JSON-ready data: metadata plus field values."""
        fields: dict[str, Any] = {}
        for field in self.payload_fields():
            value = self.__data__.get(field.name)
            if isinstance(value, datetime | date):
                value = value.isoformat()
            fields[field.name] = value
        if self.PER_FIELD:
            # Most fields carry the row's own stamp: send only those that differ
            # (the receiver restores the rest); it halves a new patient on the wire.
            stamps = json.loads(fields.get("field_stamps") or "{}")
            fields["field_stamps"] = json.dumps(
                {k: v for k, v in stamps.items() if v != self.hlc}, sort_keys=True
            )
        return {
            "model": self._meta.table_name,
            "id": self.id,
            "origin": self.origin,
            "changed_by": self.changed_by,
            "hlc": self.hlc,
            "deleted": bool(self.deleted),
            "fields": fields,
        }

    @classmethod
    def fields_from_wire(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Convert and check a peer's field values; unknown or ill-typed fields are refused."""
        converters = _converters(cls)
        unknown = data.keys() - converters.keys()
        if unknown:
            raise MalformedError(
                f"{cls._meta.table_name}: unknown fields {sorted(unknown)}",
                field=sorted(unknown)[0],
            )
        return {name: convert(data.get(name)) for name, convert in converters.items()}

    @classmethod
    def merge_remote(cls, local: Self | None, incoming: dict[str, Any], from_central: bool) -> dict[str, Any]:
        """Decide the field values to store when a newer version arrives (override per model)."""
        return incoming


# The fields of a model are fixed once its class is made: what follows from them is worked out
# once per model, not for every record of a batch (a push applies thousands).


@functools.cache
def _payload_fields(model: type[SyncModel]) -> tuple[Field, ...]:
    return tuple(f for f in model._meta.sorted_fields if f.name not in model.SYNC_FIELDS)


@functools.cache
def _stamp_keys(model: type[SyncModel]) -> tuple[str, ...]:
    """The merged fields' names as json.dumps writes a key and its separator, in key order."""
    return tuple(json.dumps(name) + ": " for name in sorted(model.merged_field_names()))


@functools.cache
def _converters(model: type[SyncModel]) -> dict[str, Callable[[Any], Any]]:
    return {field.name: _converter(model, field) for field in _payload_fields(model)}


def _converter(model: type[SyncModel], field: Field) -> Callable[[Any], Any]:
    """Converts and checks a peer's value for `field` (MalformedError if it is ill-typed)."""
    where = f"{model._meta.table_name}.{field.name}"
    typed = _typed(field, where)

    def convert(value: Any) -> Any:
        if value is None:
            if not field.null and field.default is None:
                raise MalformedError(f"{where}: a value is required", field=field.name)
            return field.default() if callable(field.default) else field.default
        try:
            return typed(value)
        except (TypeError, ValueError) as exc:
            raise MalformedError(f"{where}: bad value {value!r}", field=field.name) from exc

    return convert


def _typed(field: Field, where: str) -> Callable[[Any], Any]:
    """The conversion of a value that is there (TypeError or ValueError if it does not fit)."""
    if isinstance(field, DateTimeField):
        return lambda value: datetime.fromisoformat(value).replace(tzinfo=None)
    if isinstance(field, DateField):
        return date.fromisoformat
    if isinstance(field, BooleanField):
        return _boolean
    if isinstance(field, IntegerField | BigIntegerField):
        return _integer
    if isinstance(field, FloatField):
        return _float
    if isinstance(field, CharField | TextField | ForeignKeyField):
        max_length = getattr(field, "max_length", None) if isinstance(field, CharField) else None

        def text(value: Any) -> str:
            if not isinstance(value, str):
                raise TypeError
            if max_length and len(value) > max_length:
                raise MalformedError(f"{where}: longer than {max_length} characters", field=field.name)
            return value

        return text
    return lambda value: value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError
    return value


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise TypeError
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError
    return float(value)
