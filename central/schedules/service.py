"""Schedule templates and the slots they make: create, edit, activate, deactivate, delete.

Activating a template makes one Slot (UTC) for each cell switched on, on each
of its weekdays in its date range, skipping times already past and times an
existing slot of the consultant already covers. Deactivating or deleting
removes (tombstones) the template's future slots that nobody booked; booked
ones stay, and the caller is told how many. Editing an active template
removes its free future slots and makes them anew. Slots are replicated: the
posts of the region receive every change with their next pull.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.errors import ValidationError
from domain.models import Appeal, AppealStatus, Organization, Patient, ScheduleTemplate, Slot, Staff
from i18n import N_
from sync.clock import utcnow
from sync.db import database

from .rules import TemplatePlan, check_plan, local_to_utc, minutes_of, plans_overlap

__all__ = [
    "ScheduleChange",
    "DaySlot",
    "templates_of",
    "template_of",
    "create_template",
    "update_template",
    "activate",
    "deactivate",
    "delete_template",
    "day_schedule",
    "local_today",
    "zone_of",
]

#: No appointment is longer than this: how far back to look for a slot covering a time.
_LONGEST_SLOT = timedelta(hours=4)


@dataclass
class ScheduleChange:
    """What a schedule operation did to the slots."""

    created: int = 0
    removed: int = 0
    kept_booked: int = 0  # future slots with a patient booked: never removed


@dataclass
class DaySlot:
    """One line of «График»: a slot in the consultant's zone and the appeal booked on it."""

    slot: Slot
    starts: datetime
    ends: datetime
    appeal: Appeal | None


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("Europe/Moscow")


def local_today(zone: ZoneInfo, now: datetime | None = None) -> date:
    return (now or utcnow()).replace(tzinfo=UTC).astimezone(zone).date()


def templates_of(consultant: Staff) -> list[ScheduleTemplate]:
    return list(
        ScheduleTemplate.live()
        .where(ScheduleTemplate.consultant == consultant.id)
        .order_by(ScheduleTemplate.date_from, ScheduleTemplate.name)
    )


def template_of(consultant: Staff, template_id: str) -> ScheduleTemplate | None:
    """The consultant's live template with this id (None for anyone else's)."""
    return ScheduleTemplate.get_or_none(
        (ScheduleTemplate.id == template_id)
        & (ScheduleTemplate.consultant == consultant.id)
        & (ScheduleTemplate.deleted == False)  # noqa: E712
    )


def _check_no_overlap(consultant: Staff, plan: TemplatePlan, zone: ZoneInfo, exclude: str | None) -> None:
    """Refuse a plan whose days and hours meet those of another active template."""
    others = ScheduleTemplate.live().where(
        (ScheduleTemplate.consultant == consultant.id) & (ScheduleTemplate.active == True)  # noqa: E712
    )
    for other in others:
        if other.id == exclude:
            continue
        other_plan = TemplatePlan.of(other)
        if plans_overlap(plan, zone, other_plan, zone_of(other.timezone)):
            raise ValidationError(
                N_(
                    "Шаблон пересекается с активным шаблоном «%(other)s» (%(days)s; %(hours)s; "
                    "%(period)s): измените дни, даты или часы либо сначала деактивируйте «%(other)s»"
                ),
                field="weekdays",
                other=other.name,
                **other_plan.describe(),
            )


def create_template(consultant: Staff, plan: TemplatePlan) -> ScheduleTemplate:
    """Save a new template, inactive until the consultant switches it on (as in the manual)."""
    check_plan(plan)
    zone = zone_of(consultant.timezone)
    with database.atomic():
        _check_no_overlap(consultant, plan, zone, exclude=None)
        return ScheduleTemplate.create(
            consultant=consultant, timezone=str(zone), active=False, **plan.model_fields()
        )


def update_template(
    template: ScheduleTemplate, plan: TemplatePlan, now: datetime | None = None
) -> ScheduleChange:
    """Save the edited template; an active one gets its free future slots made anew."""
    now = now or utcnow()
    check_plan(plan)
    consultant = template.consultant
    # Times on the form are the consultant's: the template follows their current zone.
    zone = zone_of(consultant.timezone)
    change = ScheduleChange()
    with database.atomic():
        template = ScheduleTemplate.get_by_id(template.id)  # the stored state decides, not the caller's copy
        _check_no_overlap(consultant, plan, zone, exclude=template.id)
        for name, value in plan.model_fields().items():
            setattr(template, name, value)
        template.timezone = str(zone)
        template.save()
        if template.active:
            change = _remove_future_slots(template, now)
            change.created = _generate_slots(template, now)
    return change


def activate(template: ScheduleTemplate, now: datetime | None = None) -> ScheduleChange:
    """Switch a template on and make its slots."""
    now = now or utcnow()
    with database.atomic():
        template = ScheduleTemplate.get_by_id(template.id)
        if template.active:
            return ScheduleChange()
        _check_no_overlap(
            template.consultant, TemplatePlan.of(template), zone_of(template.timezone), template.id
        )
        template.active = True
        template.save()
        return ScheduleChange(created=_generate_slots(template, now))


def deactivate(template: ScheduleTemplate, now: datetime | None = None) -> ScheduleChange:
    """Switch a template off: its free future slots go, booked ones stay."""
    now = now or utcnow()
    with database.atomic():
        template = ScheduleTemplate.get_by_id(template.id)
        if not template.active:
            return ScheduleChange()
        template.active = False
        template.save()
        return _remove_future_slots(template, now)


def delete_template(template: ScheduleTemplate, now: datetime | None = None) -> ScheduleChange:
    """Delete a template (a tombstone peers learn of) and its free future slots."""
    now = now or utcnow()
    with database.atomic():
        template = ScheduleTemplate.get_by_id(template.id)
        change = _remove_future_slots(template, now)
        template.delete_instance()
        return change


def _booked_slot_ids() -> object:
    """Slots with a live appeal on them (a cancelled appeal frees its slot)."""
    return Appeal.select(Appeal.slot).where(
        (Appeal.deleted == False)  # noqa: E712
        & (Appeal.status != AppealStatus.CANCELLED)
        & Appeal.slot.is_null(False)
    )


def _remove_future_slots(template: ScheduleTemplate, now: datetime) -> ScheduleChange:
    change = ScheduleChange()
    future = Slot.live().where((Slot.template == template.id) & (Slot.starts_at > now))
    booked = {row.slot_id for row in _booked_slot_ids().where(Appeal.slot.in_(future.select(Slot.id)))}  # type: ignore[attr-defined]
    for slot in future:
        if slot.id in booked:
            change.kept_booked += 1
        else:
            slot.delete_instance()
            change.removed += 1
    return change


def _planned_times(template: ScheduleTemplate, now: datetime) -> list[tuple[datetime, datetime]]:
    """The template's future appointments as UTC (start, end) pairs, in order."""
    plan = TemplatePlan.of(template)
    zone = zone_of(template.timezone)
    length = timedelta(minutes=plan.slot_minutes)
    cells = sorted(minutes_of(c) for c in plan.cells)
    planned = []
    for day in plan.days(start=local_today(zone, now)):
        for cell in cells:
            begins = local_to_utc(day, cell, zone)
            # A time the clocks skip (spring forward) does not exist that day.
            if begins is not None and begins > now:
                planned.append((begins, begins + length))
    return planned


def _generate_slots(template: ScheduleTemplate, now: datetime) -> int:
    planned = _planned_times(template, now)
    if not planned:
        return 0
    existing = sorted(
        (slot.starts_at, slot.ends_at)
        for slot in Slot.live().where(
            (Slot.consultant == template.consultant_id)
            & (Slot.ends_at > planned[0][0])
            & (Slot.starts_at < planned[-1][1])
        )
    )
    starts = [s for s, _ in existing]
    created = 0
    for begins, ends in planned:
        if _covered(existing, starts, begins, ends):
            continue
        Slot.create(consultant=template.consultant_id, starts_at=begins, ends_at=ends, template=template)
        created += 1
    return created


def _covered(
    existing: list[tuple[datetime, datetime]], starts: list[datetime], begins: datetime, ends: datetime
) -> bool:
    """Whether an existing slot of the consultant overlaps [begins, ends)."""
    low = bisect.bisect_left(starts, begins - _LONGEST_SLOT)
    high = bisect.bisect_left(starts, ends)
    return any(s < ends and begins < e for s, e in existing[low:high])


def day_schedule(consultant: Staff, day: date) -> list[DaySlot]:
    """«График»: the consultant's slots on a local date, each with its booked appeal if any."""
    zone = zone_of(consultant.timezone)
    start = local_to_utc(day, 0, zone) or datetime.combine(day, datetime.min.time())
    stop = local_to_utc(day + timedelta(days=1), 0, zone) or start + timedelta(days=1)
    slots = list(
        Slot.live()
        .where((Slot.consultant == consultant.id) & (Slot.starts_at >= start) & (Slot.starts_at < stop))
        .order_by(Slot.starts_at)
    )
    appeals: dict[str, Appeal] = {}
    if slots:
        query = (
            Appeal.select(Appeal, Patient, Organization)
            .join(Patient, on=(Appeal.patient == Patient.id))
            .switch(Appeal)
            .join(Organization, on=(Appeal.post == Organization.id))
            .where(
                Appeal.slot.in_([s.id for s in slots])
                & (Appeal.deleted == False)  # noqa: E712
                & (Appeal.status != AppealStatus.CANCELLED)
            )
        )
        appeals = {str(a.slot_id): a for a in query}
    return [
        DaySlot(
            slot=s,
            starts=s.starts_at.replace(tzinfo=UTC).astimezone(zone),
            ends=s.ends_at.replace(tzinfo=UTC).astimezone(zone),
            appeal=appeals.get(s.id),
        )
        for s in slots
    ]
