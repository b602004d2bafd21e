"""Writing records received from a peer: convert, check scope, merge, stamp, park orphans.

Used by both sides: central applies what a node pushes (`from_central=False`,
with the node's post as scope), a node applies what it pulls from central.
Applying the same record twice changes nothing: a record no newer than the
stored one is skipped.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from peewee import IntegrityError

from i18n import N_

from .clock import Stamp, utcnow
from .contract import POST_CLOCK_SKEW, Contract, Reference, Writer
from .db import database, replica
from .errors import ClockError, MalformedError, RefusedError, ScopeError, SyncError
from .model import SyncModel, next_seq, reserve_seqs
from .registry import replication
from .state import PendingRecord, SyncEvent

__all__ = ["ApplyResult", "apply_records", "retry_pending"]

_P = ParamSpec("_P")
_T = TypeVar("_T")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass
class ApplyResult:
    applied: int = 0
    stale: int = 0
    pending: int = 0
    refused: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "stale": self.stale,
            "pending": self.pending,
            "refused": self.refused,
        }


@dataclass(frozen=True)
class _Incoming:
    model: type[SyncModel]
    id: str
    origin: str
    changed_by: str
    hlc: str
    deleted: bool
    fields: dict[str, Any]
    raw: dict[str, Any]


def _refusing(check: Callable[_P, _T]) -> Callable[_P, _T]:
    """Turn the domain's refusals (its registered error types) into the engine's RefusedError."""

    @functools.wraps(check)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return check(*args, **kwargs)
        except replication().refusals as exc:
            raise RefusedError.of(exc) from exc

    return checked


@_refusing
def _parse(record: Any, from_central: bool, peer: str) -> _Incoming:
    if not isinstance(record, dict):
        raise MalformedError(N_("Запись синхронизации должна быть объектом JSON"))
    model = replication().by_table.get(record.get("model"))  # type: ignore[arg-type]
    if model is None:
        raise MalformedError(N_("Неизвестный тип записи: %(model)s"), model=str(record.get("model")))
    rid = record.get("id")
    if not isinstance(rid, str) or not _UUID.match(rid):
        raise MalformedError(N_("Некорректный идентификатор записи"), field="id")
    hlc = record.get("hlc")
    try:
        Stamp.decode(hlc)  # type: ignore[arg-type]
    except ValueError as exc:
        raise MalformedError(N_("Некорректная отметка времени записи"), field="hlc") from exc
    origin, changed_by = record.get("origin"), record.get("changed_by")
    if not isinstance(origin, str) or not isinstance(changed_by, str) or not origin or not changed_by:
        raise MalformedError(N_("У записи не указан источник"), field="origin")
    if not from_central and changed_by != peer:
        raise ScopeError(N_("Узел может передавать только свои изменения"))
    deleted = record.get("deleted", False)
    if not isinstance(deleted, bool):
        raise MalformedError(N_("Некорректный признак удаления"), field="deleted")
    fields = record.get("fields")
    if not isinstance(fields, dict):
        raise MalformedError(N_("У записи нет полей"), field="fields")
    values = model.fields_from_wire(fields)
    if model.PER_FIELD:
        model.expand_stamps(values, hlc)  # type: ignore[arg-type]
    return _Incoming(model, rid, origin, changed_by, hlc, deleted, values, record)  # type: ignore[arg-type]


_FETCH = object()  # "look the stored row up yourself"


@dataclass
class _Planned:
    """A record checked, merged and stamped, ready to be written (nothing written yet)."""

    rec: _Incoming
    row: dict[str, Any]
    audit: dict[str, Any] | None = None
    #: A post's references to check once written (new rows, and values it changed).
    refs: list[tuple[Reference, str]] = field(default_factory=list)


def _write(
    rec: _Incoming,
    from_central: bool,
    scope_org: str | None,
    local: Any = _FETCH,
    seq: Any = None,
    batch: _Batch | None = None,
) -> str:
    """Write one record inside the caller's transaction; returns applied/stale.

    With `batch`, scope checks use what the batch read up front, and the check
    after writing is left to the batch (one query per model instead of one per record).
    """
    if local is _FETCH:
        local = rec.model.get_or_none(rec.model.id == rec.id)
    planned = _plan(rec, from_central, scope_org, local, seq, batch)
    if planned is None:
        return "stale"
    _store(planned, local, scope_org, batch)
    return "applied"


@_refusing
def _plan(
    rec: _Incoming,
    from_central: bool,
    scope_org: str | None,
    local: SyncModel | None,
    seq: Any = None,
    batch: _Batch | None = None,
) -> _Planned | None:
    """Check scope, merge with the stored row, validate and stamp; None if nothing changes.

    Writes nothing but the audit of a stale record's lost values (stored rows only).
    """
    model = rec.model
    refs: list[tuple[Reference, str]] = []
    if scope_org is not None:
        contract = replication().contract_of(model)
        if not contract.post_writes:
            raise ScopeError(
                N_("Пост не может изменять записи типа «%(model)s»"), model=model._meta.table_name
            )
        if local is not None:
            in_scope = (
                (model._meta.table_name, rec.id) in batch.in_scope
                if batch is not None
                else _in_scope(model, rec.id, scope_org)
            )
            if not in_scope:
                raise ScopeError(N_("Запись принадлежит другой организации"))
        refs = _check_contract(contract, rec, local)
    lost: list[dict[str, Any]] = []
    if model.PER_FIELD and local is not None:
        merged, lost = model.merge_fields(local, rec.fields)
        if all(local.__data__.get(k) == v for k, v in merged.items()) and (
            rec.deleted == bool(local.deleted)
        ):
            if lost:
                _audit(rec, {"lost": lost})
            return None
    else:
        if local is not None and local.hlc >= rec.hlc:
            return None
        merged = model.merge_remote(local, rec.fields, from_central)
        if local is None and not from_central:
            check = replication().contract_of(model).check_new
            if check is not None:
                check(merged)
    # Validate the merged values as a whole row (checksums, required fields). They hold every
    # payload field, so peewee's defaults would only be overwritten (a fresh UUID for the id
    # among them: 4 % of applying a batch of new patients).
    probe = model(__no_default__=True, id=rec.id, **merged)
    probe.validate()
    merged = {name: probe.__data__.get(name) for name in merged}
    me = replica()
    try:
        # A post's stamp may not drag central's clock (and with it the whole fleet's) ahead.
        bound = int(POST_CLOCK_SKEW.total_seconds() * 1000) if scope_org is not None else None
        me.clock.observe(rec.hlc, max_drift_ms=bound)
    except ValueError as exc:
        raise ClockError(
            N_("Часы поста ушли вперёд от часов центра: проверьте дату и время на посту")
        ) from exc
    if local is not None:
        origin = local.origin
    else:
        # Who created a row a post sends is the post's node that sent it, whatever it claims.
        origin = rec.changed_by if scope_org is not None else rec.origin
    row: dict[str, Any] = {
        **merged,
        "origin": origin,
        "changed_by": rec.changed_by,
        "hlc": max(rec.hlc, local.hlc) if local is not None else rec.hlc,
        "deleted": rec.deleted or bool(local is not None and local.deleted and not from_central),
        "seq": next(seq) if seq is not None else next_seq(),
    }
    audit: dict[str, Any] | None = None
    if merged != rec.fields:
        # We kept some of our own values: that is a new change of ours, so it
        # must travel back to the peer with a stamp newer than the peer's.
        row["changed_by"], row["hlc"] = me.id, me.clock.now()
        kept = {k: [rec.fields.get(k), merged[k]] for k in merged if merged[k] != rec.fields.get(k)}
        kept.pop("field_stamps", None)
        audit = {"kept_ours": kept, "lost": lost}
    elif lost:
        audit = {"lost": lost}
    return _Planned(rec, row, audit, refs)


def _check_contract(
    contract: Contract, rec: _Incoming, local: SyncModel | None
) -> list[tuple[Reference, str]]:
    """Refuse what the model's contract does not let a post write; returns the references to
    check once the row is written (those it sets anew)."""
    name = rec.model._meta.table_name
    stored = local.__data__ if local is not None else None
    if stored is None and Writer.POST not in contract.created_by:
        raise ScopeError(N_("Пост не может создавать записи типа «%(model)s»"), model=name)
    if stored is not None and contract.append_only:
        if rec.deleted != bool(stored.get("deleted")) or any(
            stored.get(k) != v for k, v in rec.fields.items()
        ):
            raise ScopeError(N_("Записи типа «%(model)s» не изменяются после создания"), model=name)
    if stored is not None:
        for key in contract.immutable:
            if key in rec.fields and rec.fields[key] != stored.get(key):
                raise ScopeError(
                    N_("Поле «%(what)s» записи «%(model)s» нельзя изменить после создания"),
                    what=key,
                    model=name,
                )

    def changed(key: str) -> bool:
        return rec.fields.get(key) is not None and (stored is None or rec.fields[key] != stored.get(key))

    for key, allowed in contract.post_values.items():
        if changed(key) and rec.fields[key] not in allowed:
            raise ScopeError(
                N_("Пост не может указывать «%(value)s» в поле «%(what)s» записи «%(model)s»"),
                value=str(rec.fields[key])[:40],
                what=key,
                model=name,
            )
    latest = utcnow() + POST_CLOCK_SKEW if contract.post_clock else None
    for key in contract.post_clock:
        value = rec.fields.get(key)
        if changed(key) and isinstance(value, datetime) and latest is not None and value > latest:
            raise ClockError(
                N_("Время «%(what)s» записи «%(model)s» впереди часов центра: проверьте часы поста"),
                what=key,
                model=name,
            )
    return [(ref, rec.fields[ref.field]) for ref in contract.references if changed(ref.field)]


def _store(planned: _Planned, local: SyncModel | None, scope_org: str | None, batch: _Batch | None) -> None:
    """Write a planned record (insert or update) and its audit, in the caller's transaction."""
    rec, model = planned.rec, planned.rec.model
    columns = {model._meta.fields[k]: v for k, v in planned.row.items()}
    if local is None:
        model.insert(columns | {model.id: rec.id}).execute()
    else:
        model.update(columns).where(model.id == rec.id).execute()
    if planned.audit is not None:
        _audit(rec, planned.audit)
    if batch is not None:
        batch.written.append(rec)
        batch.refs.extend((rec, ref, value) for ref, value in planned.refs)
    elif scope_org is not None:
        if not _in_scope(model, rec.id, scope_org):
            raise ScopeError(N_("Запись вне области видимости поста"))
        outside = _references_outside([(rec, ref, value) for ref, value in planned.refs], scope_org)
        if outside:
            raise next(iter(outside.values()))


def _audit(rec: _Incoming, detail: dict[str, Any]) -> None:
    """Keep what a merge did not take, so nobody's edit silently disappears."""
    SyncEvent.create(
        peer=rec.changed_by,
        kind="merged",
        model=rec.model._meta.table_name,
        record_id=rec.id,
        detail=json.dumps(detail, default=str, ensure_ascii=False),
    )


def _in_scope(model: type[SyncModel], rid: str, org: str) -> bool:
    return bool(_ids_within(model, [rid], model.scope_for_post(org)))


def _ids_within(model: type[SyncModel], ids: list[str], condition: Any) -> set[str]:
    """Of these ids of `model`, the ones whose rows exist and satisfy `condition` (None: all).

    The rows are found by their key and the condition is read as a column: in the WHERE,
    SQLite walked the condition's index instead (for each 500 ids, every row of the post:
    a cost that grew with the post's patients)."""
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        columns = [model.id] if condition is None else [model.id, condition.alias("inside")]
        rows: Any = model.select(*columns).where(model.id.in_(part)).tuples()
        found.update(row[0] for row in rows if condition is None or row[1])
    return found


def _stage(rec: _Incoming, from_central: bool, scope_org: str | None, error: str) -> None:
    table = rec.model._meta.table_name
    existing = PendingRecord.get_or_none((PendingRecord.model == table) & (PendingRecord.record_id == rec.id))
    if existing is not None and existing.hlc >= rec.hlc:
        return
    payload = json.dumps(rec.raw, ensure_ascii=False)
    if existing is None:
        PendingRecord.create(
            model=table,
            record_id=rec.id,
            hlc=rec.hlc,
            payload=payload,
            from_central=from_central,
            scope_org=scope_org,
            error=error,
        )
    else:
        existing.hlc, existing.payload, existing.error = rec.hlc, payload, error
        existing.save()


def _try(
    rec: _Incoming,
    from_central: bool,
    scope_org: str | None,
    result: ApplyResult,
    local: Any = _FETCH,
    seq: Any = None,
    batch: _Batch | None = None,
) -> bool:
    """Apply one record in a savepoint; False if a parent is missing (record parked)."""
    outcome = _guarded(
        rec, from_central, scope_org, lambda: _write(rec, from_central, scope_org, local, seq, batch)
    )
    if outcome is None:
        return False
    if outcome == "applied":
        result.applied += 1
    else:
        result.stale += 1
    return True


def _guarded(
    rec: _Incoming, from_central: bool, scope_org: str | None, write: Callable[[], str]
) -> str | None:
    """Run one record's write in a savepoint; None if a parent is missing (record parked).

    Any other conflict with stored data refuses the record.
    """
    try:
        with database.atomic():
            return write()
    except IntegrityError as exc:
        text = str(exc).lower()
        if "foreign key" not in text:
            raise MalformedError(
                N_("Запись противоречит уже сохранённым данным: %(detail)s"), detail=str(exc)
            ) from exc
        _stage(rec, from_central, scope_org, str(exc))
        return None


@dataclass
class _Batch:
    """What one batch read up front and what it wrote (for the scope checks at the end)."""

    in_scope: set[tuple[str, str]] = field(default_factory=set)
    written: list[_Incoming] = field(default_factory=list)
    #: The post's references to check at the end: (record, reference, the id it names).
    refs: list[tuple[_Incoming, Reference, str]] = field(default_factory=list)


class _Redo(Exception):
    """Some written records turned out to break the post's scope: undo the batch, refuse them."""

    def __init__(self, refused: dict[tuple[str, str], SyncError]) -> None:
        super().__init__(f"{len(refused)} records out of scope")
        self.refused = refused


def apply_records(
    records: list[Any], *, peer: str, from_central: bool, scope_org: str | None = None
) -> ApplyResult:
    """Apply a batch atomically (except refusals, which are reported, not stored)."""
    result = ApplyResult()
    parsed: list[_Incoming] = []
    for record in records:
        try:
            parsed.append(_parse(record, from_central, peer))
        except SyncError as exc:
            result.refused.append(_refusal(record, exc))
    # A record sent twice in one batch: only its newest version matters.
    newest: dict[tuple[str, str], _Incoming] = {}
    for rec in parsed:
        key = (rec.model._meta.table_name, rec.id)
        if key not in newest or rec.hlc > newest[key].hlc:
            newest[key] = rec
    order = replication().order
    parsed = sorted(newest.values(), key=lambda r: order[r.model._meta.table_name])
    out_of_scope: dict[tuple[str, str], SyncError] = {}
    while True:
        attempt = ApplyResult(refused=list(result.refused))
        try:
            _apply_parsed(parsed, attempt, peer, from_central, scope_org, out_of_scope)
        except _Redo as redo:
            out_of_scope |= redo.refused
            continue
        return attempt


def _apply_parsed(
    parsed: list[_Incoming],
    result: ApplyResult,
    peer: str,
    from_central: bool,
    scope_org: str | None,
    out_of_scope: dict[tuple[str, str], SyncError],
) -> None:
    def refuse(rec: _Incoming, exc: SyncError) -> None:
        result.refused.append(_refusal(rec.raw, exc))
        SyncEvent.create(
            peer=peer, kind="refused", model=rec.model._meta.table_name, record_id=rec.id, detail=exc.message
        )

    with database.atomic():
        stored = _stored_rows(parsed)
        batch = _Batch(in_scope=_in_scope_keys(stored, scope_org)) if scope_org is not None else None
        seq = iter(reserve_seqs(len(parsed))) if parsed else None
        # New rows of one model are planned one by one and inserted together; anything
        # else (an update, another model) first writes what is queued, so the order of
        # writes stays the order of the batch.
        fresh: list[_Planned] = []
        for rec in parsed:
            key = (rec.model._meta.table_name, rec.id)
            local = stored.get(key)
            try:
                if key in out_of_scope:
                    raise out_of_scope[key]
                if local is None:
                    if fresh and fresh[0].rec.model is not rec.model:
                        _insert_fresh(fresh, from_central, scope_org, result, batch, refuse)
                    planned = _plan(rec, from_central, scope_org, None, seq, batch)
                    if planned is not None:
                        fresh.append(planned)
                    continue
                _insert_fresh(fresh, from_central, scope_org, result, batch, refuse)
                if not _try(rec, from_central, scope_org, result, local, seq, batch):
                    result.pending += 1
            except SyncError as exc:
                refuse(rec, exc)
        _insert_fresh(fresh, from_central, scope_org, result, batch, refuse)
        if batch is not None and scope_org is not None:
            outside = _references_outside(batch.refs, scope_org)
            for key in _written_out_of_scope(batch.written, scope_org):
                outside.setdefault(key, ScopeError(N_("Запись вне области видимости поста")))
            if outside:
                raise _Redo(outside)  # rolls the whole batch back; it is applied again without them
        if result.applied:
            result.pending = max(0, result.pending - retry_pending())


#: New rows inserted together; if the statement fails, this many are retried one by one.
_INSERT_ROWS = 500
#: Bound parameters per statement: SQLite before 3.32 allowed 999, later 32,766.
_MAX_PARAMS = 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999


def _insert_fresh(
    fresh: list[_Planned],
    from_central: bool,
    scope_org: str | None,
    result: ApplyResult,
    batch: _Batch | None,
    refuse: Callable[[_Incoming, SyncError], None],
) -> None:
    """Insert queued new rows of one model, many per statement; empties the queue.

    A statement that fails (a parent not here yet, a conflict) is undone and its
    rows are written one by one, as `_try` would have: parked, refused or applied.
    """
    if not fresh:
        return
    model = fresh[0].rec.model
    for start in range(0, len(fresh), _INSERT_ROWS):
        chunk = fresh[start : start + _INSERT_ROWS]
        try:
            with database.atomic():
                _insert_many(model, [p.row | {"id": p.rec.id} for p in chunk])
                audits = [p for p in chunk if p.audit is not None]
                for planned in audits:
                    _audit(planned.rec, planned.audit or {})
        except IntegrityError:
            for planned in chunk:

                def write(planned: _Planned = planned) -> str:
                    _store(planned, None, scope_org, batch)
                    return "applied"

                try:
                    if _guarded(planned.rec, from_central, scope_org, write) is None:
                        result.pending += 1
                    else:
                        result.applied += 1
                except SyncError as exc:
                    refuse(planned.rec, exc)
            continue
        result.applied += len(chunk)
        if batch is not None:  # the batch checks the scope of what it wrote at its end
            batch.written.extend(p.rec for p in chunk)
            batch.refs.extend((p.rec, ref, value) for p in chunk for ref, value in p.refs)
    fresh.clear()


def _insert_many(model: type[SyncModel], rows: list[dict[str, Any]]) -> None:
    """One multi-row INSERT per set of columns, values converted as peewee would."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(tuple(row), []).append(row)
    quote = database.quote
    for names, group in by_columns.items():
        fields = [model._meta.fields[name] for name in names]
        columns = ", ".join(f"{quote[0]}{f.column_name}{quote[1]}" for f in fields)
        one = "(" + ", ".join([database.param] * len(fields)) + ")"
        sql = f"INSERT INTO {quote[0]}{model._meta.table_name}{quote[1]} ({columns}) VALUES "
        step = max(1, _MAX_PARAMS // len(fields))
        for start in range(0, len(group), step):
            part = group[start : start + step]
            params = [f.db_value(row[f.name]) for row in part for f in fields]
            database.execute_sql(sql + ", ".join([one] * len(part)), params)


def _in_scope_keys(stored: dict[tuple[str, str], SyncModel], scope_org: str | None) -> set[tuple[str, str]]:
    """Which of the stored rows the post may change (one query per model)."""
    if scope_org is None:
        return set()
    by_model: dict[type[SyncModel], list[str]] = {}
    for row in stored.values():
        by_model.setdefault(type(row), []).append(row.id)
    return _scope_filter(by_model, scope_org)


def _written_out_of_scope(written: list[_Incoming], scope_org: str) -> set[tuple[str, str]]:
    by_model: dict[type[SyncModel], list[str]] = {}
    for rec in written:
        by_model.setdefault(rec.model, []).append(rec.id)
    inside = _scope_filter(by_model, scope_org)
    return {(rec.model._meta.table_name, rec.id) for rec in written} - inside


def _references_outside(
    refs: list[tuple[_Incoming, Reference, str]], scope_org: str
) -> dict[tuple[str, str], SyncError]:
    """The records whose references name rows outside the post's scope (one query per kind)."""
    wanted: dict[tuple[type[SyncModel], Reference], set[str]] = {}
    for rec, ref, value in refs:
        target = rec.model._meta.fields[ref.field].rel_model
        wanted.setdefault((target, ref), set()).add(value)
    allowed: dict[tuple[type[SyncModel], Reference], set[str]] = {}
    for (target, ref), ids in wanted.items():
        condition = ref.within(scope_org) if ref.within is not None else target.scope_for_post(scope_org)
        if condition is None:
            allowed[(target, ref)] = ids
            continue
        allowed[(target, ref)] = _ids_within(target, sorted(ids), condition)
    outside: dict[tuple[str, str], SyncError] = {}
    for rec, ref, value in refs:
        target = rec.model._meta.fields[ref.field].rel_model
        if value not in allowed[(target, ref)]:
            outside.setdefault(
                (rec.model._meta.table_name, rec.id),
                ScopeError(
                    N_("Поле «%(what)s» записи «%(model)s» ссылается на запись вне области видимости поста"),
                    what=ref.field,
                    model=rec.model._meta.table_name,
                ),
            )
    return outside


def _scope_filter(by_model: dict[type[SyncModel], list[str]], scope_org: str) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for model, ids in by_model.items():
        inside = _ids_within(model, ids, model.scope_for_post(scope_org))
        found.update((model._meta.table_name, rid) for rid in inside)
    return found


def _stored_rows(records: list[_Incoming]) -> dict[tuple[str, str], SyncModel]:
    """The stored versions of a batch's records, read with one query per model and 500 ids."""
    by_model: dict[type[SyncModel], list[str]] = {}
    for rec in records:
        by_model.setdefault(rec.model, []).append(rec.id)
    found: dict[tuple[str, str], SyncModel] = {}
    for model, ids in by_model.items():
        for start in range(0, len(ids), 500):
            for row in model.select().where(model.id.in_(ids[start : start + 500])):
                found[(model._meta.table_name, row.id)] = row
    return found


def retry_pending() -> int:
    """Re-apply parked records whose parents may have arrived; returns how many went in."""
    done = 0
    progress = True
    while progress:
        progress = False
        order = replication().order
        rows = sorted(PendingRecord.select(), key=lambda p: order.get(p.model, len(order)))
        for row in rows:
            raw = json.loads(row.payload)
            try:
                rec = _parse(raw, row.from_central, raw.get("changed_by", ""))
                scratch = ApplyResult()
                ok = _try(rec, row.from_central, row.scope_org, scratch)
            except SyncError as exc:
                row.error = exc.message
                row.save()
                continue
            if ok:
                row.delete_instance()
                done += 1
                progress = True
    return done


def _refusal(record: Any, exc: SyncError) -> dict[str, str]:
    model = record.get("model", "") if isinstance(record, dict) else ""
    rid = record.get("id", "") if isinstance(record, dict) else ""
    return {"model": str(model), "id": str(rid), "error": exc.code, "message": exc.message}
