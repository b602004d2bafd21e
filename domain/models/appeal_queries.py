"""What the post and the centre both ask of appeals: the free slots to book and the lists.

One rule each, for the pages and the JSON API of both apps: a slot is free while
no live appeal holds it; an appeal is «Просроченные» while it is new past its
slot or deadline, then «В работе», then «Закрытые» (newest first).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sync.clock import utcnow

from .appeals import Appeal, AppealStatus
from .schedule import Slot

__all__ = ["BOOKING_DAYS", "free_slots", "Queues", "split_queues"]

#: How far ahead a booking may choose a slot.
BOOKING_DAYS = 14


def free_slots(consultant_id: str, now: datetime | None = None, days: int = BOOKING_DAYS) -> list[Slot]:
    """The consultant's active future slots, within ``days``, with no live appeal on them."""
    now = now or utcnow()
    taken = Appeal.select(Appeal.slot).where(
        Appeal.slot.is_null(False) & (Appeal.status != AppealStatus.CANCELLED) & (Appeal.deleted == False)  # noqa: E712
    )
    return list(
        Slot.live()
        .where(
            (Slot.consultant == consultant_id)
            & (Slot.active == True)  # noqa: E712
            & (Slot.starts_at > now)
            & (Slot.starts_at < now + timedelta(days=days))
            & Slot.id.not_in(taken)
        )
        .order_by(Slot.starts_at)
    )


@dataclass
class Queues:
    """«Новые обращения» (with «Просроченные» apart), «В работе», «Закрытые обращения»."""

    overdue: list[Appeal] = field(default_factory=list)
    new: list[Appeal] = field(default_factory=list)
    in_work: list[Appeal] = field(default_factory=list)
    closed: list[Appeal] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many each list holds; «new» counts the overdue ones too, as the menu shows it."""
        return {
            "overdue": len(self.overdue),
            "new": len(self.new) + len(self.overdue),
            "in_work": len(self.in_work),
            "closed": len(self.closed),
        }


def split_queues(appeals: Iterable[Appeal], now: datetime | None = None) -> Queues:
    """The appeals (in the order given) sorted into the lists; cancelled ones into none."""
    now = now or utcnow()
    out = Queues()
    for appeal in appeals:
        if appeal.status == AppealStatus.NEW:
            (out.overdue if appeal.is_overdue(now) else out.new).append(appeal)
        elif appeal.status == AppealStatus.IN_WORK:
            out.in_work.append(appeal)
        elif appeal.status == AppealStatus.CLOSED:
            out.closed.append(appeal)
    out.closed.sort(key=lambda a: a.closed_at or a.created_at, reverse=True)
    return out
