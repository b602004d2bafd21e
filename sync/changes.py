"""Reading the local change log: rows changed after a sequence number, oldest first."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from .models import (
    REPLICATED_MODELS,
    Appeal,
    AppealStatus,
    Attachment,
    FormOfCare,
    Patient,
    SyncModel,
    SyncSequence,
)

__all__ = [
    "collect_changes",
    "in_post_scope",
    "pulled_by_post",
    "express_lane",
    "pending_counts",
    "latest_seq",
    "latest_stamp",
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
    for model in REPLICATED_MODELS:
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


def latest_seq() -> int:
    row = SyncSequence.get_or_none(SyncSequence.name == "changes")
    return row.value if row else 0


def latest_stamp() -> str | None:
    """The newest HLC stamp stored, so a restarted replica's clock never goes back."""
    stamps = [m.select(m.hlc).order_by(m.hlc.desc()).limit(1).scalar() for m in REPLICATED_MODELS]
    found = [s for s in stamps if s]
    return max(found) if found else None


def express_lane(after: int, only_by: str) -> list[SyncModel]:
    """Unsent emergency appeals with the patients they need, parents first."""
    appeals = list(
        Appeal.select().where(
            (Appeal.seq > after)
            & (Appeal.changed_by == only_by)
            & (Appeal.form_of_care == FormOfCare.EMERGENCY)
            & (Appeal.status == AppealStatus.NEW)
        )
    )
    if not appeals:
        return []
    patient_ids = {a.patient_id for a in appeals}
    patients = list(
        Patient.select().where(
            Patient.id.in_(patient_ids) & (Patient.seq > after) & (Patient.changed_by == only_by)
        )
    )
    representatives = {p.representative_id for p in patients if p.representative_id}
    if representatives:
        patients = (
            list(
                Patient.select().where(
                    Patient.id.in_(representatives) & (Patient.seq > after) & (Patient.changed_by == only_by)
                )
            )
            + patients
        )
    return [*patients, *appeals]


def pending_counts(after: int, only_by: str) -> dict[str, int]:
    """Queue sizes by lane: emergency appeals, all records, and files not yet confirmed."""
    records = sum(
        m.select().where((m.seq > after) & (m.changed_by == only_by)).count() for m in REPLICATED_MODELS
    )
    emergency = (
        Appeal.select()
        .where(
            (Appeal.seq > after)
            & (Appeal.changed_by == only_by)
            & (Appeal.form_of_care == FormOfCare.EMERGENCY)
        )
        .count()
    )
    from .state import UploadedBlob

    blobs_up = (
        Attachment.select(Attachment.sha256)
        .where(
            (Attachment.origin == only_by)
            & Attachment.sha256.not_in(UploadedBlob.select(UploadedBlob.sha256))
        )
        .distinct()
        .count()
    )
    return {"emergency": emergency, "records": records, "blobs_up": blobs_up}
