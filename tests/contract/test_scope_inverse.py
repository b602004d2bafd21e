"""The replication scope asked both ways gives one answer.

Central tells a linked post of a change when the post's pull would bring the changed row.
It asks that once per changed model (`posts_pulling`: which posts pull these rows?), not
once per post (`pulled_by_post`: which of these rows does this post pull?). Over the demo's
seeded data, grown with one row of everything a consultation makes and a second region,
every row of every replicated model, for every organisation, the two agree exactly.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from domain.models import (
    REPLICATED_MODELS,
    Exam,
    Organization,
    Patient,
    Slot,
    Staff,
)
from sync import model as sync_model
from sync.changes import in_post_scope, pulled_by_post
from sync.model import SyncModel
from tests.helpers.consultations import a_consultation_at


def _by_post(model: type[SyncModel], ids: list[str], organizations: list[str]) -> dict[str, set[str]]:
    """The pull's own answer, asked post by post: row id → the organisations that pull it."""
    found: dict[str, set[str]] = {}
    for organization in organizations:
        for row_id in pulled_by_post(model, ids, organization):
            found.setdefault(row_id, set()).add(organization)
    return found


@pytest.mark.parametrize("batch", [sync_model.PULLING_BATCH, 7])
def test_who_pulls_a_row_is_answered_alike_asked_per_post_or_once(grown, monkeypatch, batch: int) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sync_model, "PULLING_BATCH", batch)  # several queries for one change
    organizations = [o.id for o in Organization.select(Organization.id)]
    assert len(organizations) == 6
    for model in REPLICATED_MODELS:
        ids = [row.id for row in model.select(model.id)]
        assert ids, f"no {model.__name__} rows to compare"
        once = model.posts_pulling(ids)
        assert once == _by_post(model, ids, organizations), model.__name__
        # And the inverse of the scope itself, for the rows posts write but never pull.
        scoped = {
            (row.id, organization)
            for organization in organizations
            for row in in_post_scope(model, model.select(model.id).where(model.id.in_(ids)), organization)
        }
        assert set(model.post_pairs(ids).tuples()) == scoped, model.__name__


def test_a_post_in_another_region_pulls_none_of_this_region_s_rows(grown) -> None:  # type: ignore[no-untyped-def]
    """Not vacuous: the scope does divide the rows between the posts."""
    ours = grown.posts[0][0]
    theirs = Organization.get(Organization.name == "ФАП с. Микшино").id
    slots = [s.id for s in Slot.select(Slot.id)]
    pulling = Slot.posts_pulling(slots)
    # Every slot but the other region's one (how many the seed made depends on the hour it ran).
    assert len(slots) > 2
    assert sum(ours in posts for posts in pulling.values()) == len(slots) - 1
    assert sum(theirs in posts for posts in pulling.values()) == 1
    appeals = Exam.posts_pulling([e.id for e in Exam.select(Exam.id)])
    assert {frozenset(posts) for posts in appeals.values()} == {frozenset({p}) for p, _ in grown.posts}


def _queries(caplog: pytest.LogCaptureFixture, ask: Any) -> tuple[Any, int]:
    """What `ask()` answers, and how many SQL statements it ran."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        answer = ask()
    return answer, sum(1 for r in caplog.records if r.name == "peewee")


def test_telling_the_linked_posts_costs_the_same_for_two_posts_or_a_thousand(grown, caplog) -> None:  # type: ignore[no-untyped-def]
    from central.live.feed import notices_between
    from sync.changes import latest_seq

    before = latest_seq()
    a_consultation_at(
        grown.posts[0][0],
        Patient.get_by_id(grown.patients["Кузьмин Пётр Васильевич@1"]),
        Staff.get_by_id(grown.consultants["kuznetsova"]),
    )
    upto = latest_seq()
    ours = {post_id for post_id, _ in grown.posts}
    fleet = ours | {f"post-{n:04}" for n in range(998)}  # linked posts with nothing changed here

    few, few_queries = _queries(caplog, lambda: notices_between(before, upto, ours.__and__))
    many, many_queries = _queries(caplog, lambda: notices_between(before, upto, fleet.__and__))
    assert [n.room for n in many if n.event == "changes"] == [f"post:{grown.posts[0][0]}"]
    assert many == few
    assert few_queries > 0 and many_queries == few_queries
