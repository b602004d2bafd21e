"""What a central instance that died leaves in Redis goes away with its leases."""

from __future__ import annotations

import time
import uuid

import pytest
import redis

from central.calls.book import RedisCallBook
from central.calls.registry import Call, CallState, Side
from central.live.presence import RedisLinkedPosts
from tests.helpers.scaled import REDIS_URL
from tests.helpers.timing import wait_until


@pytest.fixture
def client() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL)


def _call(appeal: str) -> Call:
    return Call(
        appeal_id=appeal,
        post_id="post-1",
        mode="audio",
        placed_by=Side.CONSULTANT,
        caller_id="staff-1",
        caller_name="Иванова М.С.",
        consultant_id="staff-1",
        consultant_sid="sid-a",
    )


def test_a_call_round_trips_through_redis_and_vanishes_when_its_lease_runs_out(client: redis.Redis) -> None:
    prefix = f"faplink-test:{uuid.uuid4().hex}:"
    book = RedisCallBook(client, prefix=prefix)
    kept, orphan = _call("appeal-kept"), _call("appeal-orphan")
    with book.locked():
        book.put(kept)
        book.put(orphan)
    kept.state = CallState.ACTIVE
    kept.times.answered()
    book.put(kept)
    again = book.get(kept.id)
    assert again is not None and again.state is CallState.ACTIVE and again.times.answered_at is not None
    assert again.to_json() == kept.to_json()
    assert {c.appeal_id for c in book.calls()} == {"appeal-kept", "appeal-orphan"}

    orphan_key = f"{prefix}call:{orphan.id}"
    client.pexpire(orphan_key, 50)  # as if its instance stopped renewing it
    wait_until(lambda: not client.exists(orphan_key), "Redis to let the orphan's lease run out")
    assert book.renew([kept.id, orphan.id]) == {kept.id}
    assert [c.appeal_id for c in book.calls()] == ["appeal-kept"]
    assert client.smembers(f"{prefix}ids") == {kept.id.encode()}
    book.remove(kept.id)
    assert book.calls() == [] and book.get(kept.id) is None


def test_a_posts_link_is_seen_by_every_instance_until_unlinked_or_its_lease_ends(client: redis.Redis) -> None:
    prefix = f"faplink-test:{uuid.uuid4().hex}:"
    here, there = RedisLinkedPosts(client, prefix=prefix), RedisLinkedPosts(client, prefix=prefix)
    try:
        here.link("post-1", "sid-1")
        here.link("post-2", "sid-2")
        assert there.linked("post-1") and there.linked("post-2") and not there.linked("post-3")
        here.unlink("sid-1")
        assert not there.linked("post-1")
        client.zadd(f"{prefix}post-2", {"sid-2": time.time() - 1})  # its lease ran out
        assert not there.linked("post-2")
    finally:
        here.close()
        there.close()
        client.delete(f"{prefix}post-1", f"{prefix}post-2")


def test_which_of_the_posts_a_change_names_are_linked_is_one_question_whatever_the_fleet(
    client: redis.Redis,
) -> None:
    prefix = f"faplink-test:{uuid.uuid4().hex}:"
    here, there = RedisLinkedPosts(client, prefix=prefix), RedisLinkedPosts(client, prefix=prefix)
    fleet = [f"post-{n:04}" for n in range(1000)]
    try:
        for n, post in enumerate(fleet):
            (here if n % 2 else there).link(post, f"sid-{n}")
        client.zadd(f"{prefix}post-0003", {"sid-3": time.time() - 1})  # its lease ran out
        asked = {"post-0001", "post-0002", "post-0003", "post-9999"}
        commands: list[str] = []
        original = client.execute_command

        def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
            commands.append(str(args[0]))
            return original(*args, **kwargs)

        client.execute_command = counted  # type: ignore[method-assign]
        try:
            answer = here.among(asked)
        finally:
            client.execute_command = original  # type: ignore[method-assign]
        assert answer == {"post-0001", "post-0002"}
        assert commands == []  # a pipeline sends its commands in one round trip, not one by one
        assert here.among(set()) == set()
    finally:
        here.close()
        there.close()
        client.delete(*(f"{prefix}{post}" for post in fleet))
