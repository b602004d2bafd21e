"""The demo's schedules: weekdays for the demo, every day for tests that must not depend on the date."""

from __future__ import annotations

from datetime import datetime

from domain.models import Slot
from faplink.demo_seed import seed

# Saturday 5 December 2026, 12:00 in Tver (09:00 UTC): the two days ahead are a weekend.
SATURDAY_NOON = datetime(2026, 12, 5, 9, 0)


def test_the_demo_gives_consultants_no_slots_at_the_weekend(db) -> None:  # type: ignore[no-untyped-def]
    seed(SATURDAY_NOON, days=2)
    starts = [slot.starts_at for slot in Slot.select()]
    # Only the slot made "to take in work at once", ten minutes after the seed.
    assert starts == [datetime(2026, 12, 5, 9, 10)] * len(starts) and starts


def test_a_test_seed_has_slots_on_any_weekday(db) -> None:  # type: ignore[no-untyped-def]
    data = seed(SATURDAY_NOON, days=2, weekends=True)
    consultant = next(iter(data.consultants.values()))
    starts = sorted(s.starts_at for s in Slot.select().where(Slot.consultant == consultant))
    # Saturday from 12:30 local (09:30 UTC) to 16:30, then all of Sunday: 9 + 16, and the soon one.
    assert len(starts) == 26
    assert starts[0] == datetime(2026, 12, 5, 9, 10)
    assert starts[-1] == datetime(2026, 12, 6, 13, 30)
