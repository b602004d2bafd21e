"""A kiosk whose clock ran ahead stamped changes central must refuse; once the hello has measured
the clock, the kiosk stamps them anew in central's time, so they still go (and nothing is lost)."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

from domain.models import Patient
from sync.client import SyncClient
from sync.clock import Stamp
from sync.db import replica

WEEK_MS = 7 * 24 * 3600 * 1000


def _wall(stamp: str) -> int:
    return Stamp.decode(stamp).wall_ms


def test_changes_stamped_while_the_clock_ran_ahead_are_stamped_anew(node_app) -> None:  # type: ignore[no-untyped-def]
    clock = replica().clock
    node_id = replica().id
    clock.offset_ms = WEEK_MS  # the kiosk's clock a week ahead, not yet measured against central
    patient = Patient.select().first()
    untouched = Patient.select().where(Patient.id != patient.id).first()
    kept_hlc = untouched.hlc
    patient.address = "д. Сосновка, после скачка часов"
    patient.save()
    ahead = Patient.get_by_id(patient.id)
    assert _wall(ahead.hlc) - time.time() * 1000 > WEEK_MS - 60_000
    old_seq = ahead.seq

    clock.offset_ms = 0  # the hello measured central's clock
    restamped = SyncClient._restamp_ahead(SimpleNamespace(node_id=node_id))  # type: ignore[arg-type]

    assert restamped == 1
    fixed = Patient.get_by_id(patient.id)
    assert abs(_wall(fixed.hlc) - time.time() * 1000) < 60_000 and fixed.seq > old_seq
    assert fixed.address == "д. Сосновка, после скачка часов"  # the change itself is kept
    stamps = json.loads(fixed.field_stamps)
    assert stamps and all(_wall(s) <= _wall(fixed.hlc) for s in stamps.values())
    assert Patient.get_by_id(untouched.id).hlc == kept_hlc  # sound stamps stay as they were
    assert _wall(clock.now()) - time.time() * 1000 < 60_000  # new changes in central's time


def test_a_clock_within_the_skew_changes_nothing(node_app) -> None:  # type: ignore[no-untyped-def]
    clock = replica().clock
    before = {p.id: p.hlc for p in Patient.select()}
    assert SyncClient._restamp_ahead(SimpleNamespace(node_id=replica().id)) == 0  # type: ignore[arg-type]
    assert {p.id: p.hlc for p in Patient.select()} == before
    assert clock.ahead_by() == 0
