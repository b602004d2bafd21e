"""Reading the local change log: rows changed after a sequence number, oldest first."""

from __future__ import annotations

from .models import REPLICATED_MODELS, SyncModel, SyncSequence

__all__ = ["collect_changes", "latest_seq", "latest_stamp"]


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
    for model in REPLICATED_MODELS:
        query = model.select().where(model.seq > after)
        if only_by is not None:
            query = query.where(model.changed_by == only_by)
        if not_by is not None:
            query = query.where(model.changed_by != not_by)
        if scope_org is not None:
            scope = model.scope_for_post(scope_org)
            if scope is not None:
                query = query.where(scope)
        candidates.extend(query.order_by(model.seq).limit(limit + 1))
    candidates.sort(key=lambda row: row.seq)
    return candidates[:limit], len(candidates) > limit


def latest_seq() -> int:
    row = SyncSequence.get_or_none(SyncSequence.name == "changes")
    return row.value if row else 0


def latest_stamp() -> str | None:
    """The newest HLC stamp stored, so a restarted replica's clock never goes back."""
    stamps = [m.select(m.hlc).order_by(m.hlc.desc()).limit(1).scalar() for m in REPLICATED_MODELS]
    found = [s for s in stamps if s]
    return max(found) if found else None
