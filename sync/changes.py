"""Reading the local change log: rows changed after a sequence number, oldest first."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from peewee import ForeignKeyField

from .model import SyncModel, SyncSequence
from .registry import replication
from .statements import Prepared

__all__ = [
    "collect_changes",
    "in_post_scope",
    "pulled_by_post",
    "express_lane",
    "pending_counts",
    "latest_seq",
    "latest_stamp",
    "wrote_between",
]


def in_post_scope(model: type[SyncModel], query: Any, organization_id: str) -> Any:
    """`query` narrowed to the rows of `model` the post pulls: the one scope the pull serves."""
    scope = model.scope_for_post(organization_id)
    return query if scope is None else query.where(scope)


def pulled_by_post(model: type[SyncModel], ids: Collection[str], organization_id: str) -> set[str]:
    """Of these rows of `model`, the ids the post pulls (none of a model posts never pull)."""
    if not ids or not model.PULLED_BY_POSTS:
        return set()
    query = model.select(model.id).where(model.id.in_(list(ids)))
    return {row.id for row in in_post_scope(model, query, organization_id)}


def collect_changes(
    after: int,
    limit: int,
    *,
    only_by: str | None = None,
    not_by: str | None = None,
    scope_org: str | None = None,
) -> tuple[list[SyncModel], bool]:
    """Up to `limit` rows with seq > `after`, across all models; and whether more remain."""
    candidates: list[SyncModel] = []
    for model in replication().models:
        if scope_org is not None and not model.PULLED_BY_POSTS:
            continue
        query = model.select().where(model.seq > after)
        if only_by is not None:
            query = query.where(model.changed_by == only_by)
        if not_by is not None:
            query = query.where(model.changed_by != not_by)
        if scope_org is not None:
            query = in_post_scope(model, query, scope_org)
        candidates.extend(query.order_by(model.seq).limit(limit + 1))
    candidates.sort(key=lambda row: row.seq)
    return candidates[:limit], len(candidates) > limit


#: Read at every pull and after every write request at central: built once.
_LATEST_SEQ = Prepared(
    lambda bind: SyncSequence.select(SyncSequence.value).where(SyncSequence.name == bind("name", ""))
)


def latest_seq() -> int:
    """The last change number taken (0 before the first)."""
    value = _LATEST_SEQ.scalar(name="changes")
    return int(value) if value is not None else 0


def wrote_between(after: int, upto: int, replica_id: str) -> bool:
    """Whether `replica_id` changed a replicated row numbered (after, upto]: rows a peer's round
    brought meanwhile do not count."""
    for model in replication().models:
        query = model.select(model.id).where((model.seq > after) & (model.seq <= upto))
        if query.where(model.changed_by == replica_id).exists():
            return True
    return False


def latest_stamp() -> str | None:
    """The newest HLC stamp stored, so a restarted replica's clock never goes back."""
    stamps = [m.select(m.hlc).order_by(m.hlc.desc()).limit(1).scalar() for m in replication().models]
    found = [s for s in stamps if s]
    return max(found) if found else None


def express_lane(after: int, only_by: str) -> list[SyncModel]:
    """Unsent urgent rows (the domain says which) with the unsent rows they reference, parents first."""
    lane = replication().express
    if lane is None:
        return []
    model = lane.model
    urgent = list(model.select().where((model.seq > after) & (model.changed_by == only_by) & lane.urgent()))
    parents: list[SyncModel] = []
    seen = {(model, row.id) for row in urgent}
    _unsent_parents(urgent, after, only_by, seen, parents)
    return [*parents, *urgent]


def _unsent_parents(
    rows: list[SyncModel],
    after: int,
    only_by: str,
    seen: set[tuple[type[SyncModel], str]],
    out: list[SyncModel],
) -> None:
    """Add to `out` the rows `rows` reference that this replica changed and has not sent,
    their own parents before them (one query per reference and level)."""
    replicated = set(replication().models)
    wanted: dict[type[SyncModel], set[str]] = {}
    for row in rows:
        for field in type(row)._meta.sorted_fields:
            if not isinstance(field, ForeignKeyField) or field.rel_model not in replicated:
                continue
            value = row.__data__.get(field.name)
            if value and (field.rel_model, value) not in seen:
                wanted.setdefault(field.rel_model, set()).add(value)
    found: list[SyncModel] = []
    for target, ids in wanted.items():
        query = target.select().where(
            target.id.in_(sorted(ids)) & (target.seq > after) & (target.changed_by == only_by)
        )
        for row in query:
            seen.add((target, row.id))
            found.append(row)
    if found:
        _unsent_parents(found, after, only_by, seen, out)
        out.extend(found)


def pending_counts(after: int, only_by: str) -> dict[str, int]:
    """Queue sizes by lane: urgent rows, all records, and files not yet confirmed."""
    declared = replication()
    records = sum(
        m.select().where((m.seq > after) & (m.changed_by == only_by)).count() for m in declared.models
    )
    lane = declared.express
    emergency = 0
    if lane is not None:
        model = lane.model
        emergency = (
            model.select().where((model.seq > after) & (model.changed_by == only_by) & lane.urgent()).count()
        )
    from .state import UploadedBlob

    blobs = declared.blobs
    sha256 = blobs.sha256_field
    blobs_up = (
        blobs.model.select(sha256)
        .where((blobs.model.origin == only_by) & sha256.not_in(UploadedBlob.select(UploadedBlob.sha256)))
        .distinct()
        .count()
    )
    return {"emergency": emergency, "records": records, "blobs_up": blobs_up}
