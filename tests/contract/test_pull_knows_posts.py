"""A pull with nothing new in its post's scope is answered from what central's process knows of
the latest changes (`sync.post_changes`), and answers exactly what asking the models would.

With 1,000 posts polling, another post's push moved central's change counter past every
post's cursor, and each pull then asked every model for rows in its post's scope to find
nothing: about 20 scoped queries, most of central's CPU for a fleet. Now each change is
matched to the posts that pull it once per process, and such a pull asks two questions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from domain.models import Organization, Patient, Slot, Specialty, Staff
from sync.changes import latest_seq
from sync.clock import utcnow
from sync.post_changes import PostChanges
from sync.request_signing import NodeKey
from sync.server import changes_since, register_node
from sync.state import KnownNode
from tests.contract.helpers import Kiosk, json_of
from tests.helpers.consultations import a_consultation_at


def _node(organization_id: str) -> KnownNode:
    return KnownNode(node_id=f"kiosk-of-{organization_id}", organization_id=organization_id)


def _pull_everywhere(known: PostChanges, cursor: int) -> set[str]:
    """Pull from `cursor` for every organisation, with the index and by asking the models; the
    two must agree. Returns the organisations the index answered for."""
    latest = latest_seq()
    answered: set[str] = set()
    for organization in Organization.select(Organization.id).scalars():
        node = _node(organization)
        asked = changes_since(node, cursor, 100_000)
        known_answer = changes_since(node, cursor, 100_000, known=known)
        if known_answer != asked:
            # Only one way of differing is allowed: the index skipped to the counter where the
            # models found nothing either (they may move the cursor a little less far).
            assert known_answer == {"records": [], "cursor": latest, "more": False}, organization
            assert asked["records"] == [] and not asked["more"], (organization, asked["records"][:1])
        answered |= {organization} if known.skip_to(organization, cursor, latest) is not None else set()
    return answered


def _post(seeded: Any, n: int) -> str:
    return str(seeded.posts[n][0])


def _edit_patient_at(seeded: Any, n: int) -> None:
    patient = Patient.get_by_id(seeded.patients[f"Кузьмин Пётр Васильевич@{n + 1}"])
    patient.address = f"ул. Новая, {latest_seq()}"
    patient.save()


def _new_slot(seeded: Any) -> None:
    starts = utcnow().replace(microsecond=0) + timedelta(days=20)
    consultant = Staff.get_by_id(seeded.consultants["ivanova"])
    Slot.create(consultant=consultant, starts_at=starts, ends_at=starts + timedelta(minutes=30))


def _second_region() -> set[str]:
    region = Organization.get(Organization.name == "ФАП с. Микшино").region_id
    return set(Organization.select(Organization.id).where(Organization.region == region).scalars())


def test_a_pull_answered_from_the_index_is_what_the_models_answer(grown) -> None:  # type: ignore[no-untyped-def]
    known = PostChanges()
    first = latest_seq()
    assert known.skip_to(_post(grown, 0), first, first) is None  # it starts knowing nothing ...
    assert known.skip_to(_post(grown, 0), first - 1, first) is None  # ... nor anything before
    everyone = set(Organization.select(Organization.id).scalars())
    changes: list[tuple[str, Callable[[], None], Callable[[set[str]], bool]]] = [
        (
            "a consultation at post 1",
            lambda: a_consultation_at(
                _post(grown, 0),
                Patient.get_by_id(grown.patients["Кузьмин Пётр Васильевич@1"]),
                Staff.get_by_id(grown.consultants["kuznetsova"]),
            ),
            lambda answered: _post(grown, 0) not in answered and _post(grown, 1) in answered,
        ),
        (
            "a patient's card at post 2",
            lambda: _edit_patient_at(grown, 1),
            lambda answered: answered == everyone - {_post(grown, 1)},
        ),
        (
            "a slot in the first region's timetable",
            lambda: _new_slot(grown),
            lambda answered: answered == _second_region(),
        ),
        (
            "a specialty (every post pulls every one)",
            lambda: Specialty.create(name="Гериатрия", code="geriatrics"),
            lambda answered: not answered,
        ),
    ]
    for what, change, expected in changes:
        before = latest_seq()
        change()
        assert latest_seq() > before, what
        answered = _pull_everywhere(known, before)
        assert expected(answered), (what, answered)


def test_changes_too_wide_to_remember_post_by_post_count_for_every_post(grown) -> None:  # type: ignore[no-untyped-def]
    known = PostChanges(max_pairs=1)
    first = latest_seq()
    known.skip_to(_post(grown, 0), first, first)
    _edit_patient_at(grown, 0)
    _edit_patient_at(grown, 1)  # two rows, two posts: two pairs, more than one
    assert _pull_everywhere(known, first) == set()


def test_a_pull_that_finds_nothing_of_its_post_asks_two_questions(kiosks, caplog) -> None:  # type: ignore[no-untyped-def]
    app, data, kiosk, victim = kiosks
    other = NodeKey.generate()  # a second kiosk of post 1
    register_node("kiosk-contract-1b", kiosk.post_id, other.public_hex)
    second = Kiosk(kiosk.client, other, "kiosk-contract-1b", kiosk.post_id)
    second.send("GET", "/sync/v1/pull?cursor=0&limit=1")  # (its first request notes it was seen)
    start = json_of(kiosk.send("GET", "/sync/v1/pull?cursor=0&limit=100000"))["cursor"]
    _edit_patient_at(data, 1)  # at post 2: nothing post 1 pulls
    answer = json_of(kiosk.send("GET", f"/sync/v1/pull?cursor={start}&limit=100"))
    assert answer["records"] == [] and answer["cursor"] == latest_seq() > start

    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        answer = json_of(second.send("GET", f"/sync/v1/pull?cursor={start}&limit=100"))
    asked = [r.getMessage() for r in caplog.records if r.name == "peewee"]
    assert answer["records"] == [] and answer["cursor"] == latest_seq()
    assert len(asked) <= 2 and not any('"seq" >' in q for q in asked), asked  # the key, the counter
    # Post 2's kiosk, behind the same counter, gets its card.
    records = json_of(victim.send("GET", f"/sync/v1/pull?cursor={start}&limit=100"))["records"]
    assert [r["model"] for r in records] == ["patient"]


@pytest.mark.parametrize("n", [0, 1])
def test_a_post_gets_a_change_a_consultant_made_for_it(kiosks, n: int) -> None:  # type: ignore[no-untyped-def]
    app, data, *posts = kiosks
    kiosk = posts[n]
    start = json_of(kiosk.send("GET", "/sync/v1/pull?cursor=0&limit=100000"))["cursor"]
    json_of(kiosk.send("GET", f"/sync/v1/pull?cursor={start}&limit=100"))  # the index starts
    _edit_patient_at(data, n)  # at central, as a consultant's page would
    records = json_of(kiosk.send("GET", f"/sync/v1/pull?cursor={start}&limit=100"))["records"]
    assert [r["model"] for r in records] == ["patient"]
