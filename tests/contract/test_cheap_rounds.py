"""A signed request costs central no database write, replays stay refused (on one instance and
across instances through Redis), and posts do not poll in step."""

from __future__ import annotations

import time
import uuid

from sync.nonces import MemoryNonces, RedisNonces
from sync.state import KnownNode, SeenNonce
from sync.worker import SPREAD_CAP, SyncWorker
from tests.contract.helpers import json_of
from tests.helpers.timing import ManualClock, wait_until


def test_a_signed_pull_writes_nothing_to_the_database(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, _, kiosk, _ = kiosks
    assert json_of(kiosk.send("GET", "/sync/v1/pull?cursor=0&limit=10"))["records"]
    seen = KnownNode.get_by_id(kiosk.node_id).last_seen
    for _ in range(5):
        assert kiosk.send("GET", "/sync/v1/pull?cursor=999999999&limit=10").status_code == 200
    assert SeenNonce.select().count() == 0  # the nonces live in memory (or Redis), not in the database
    assert KnownNode.get_by_id(kiosk.node_id).last_seen == seen  # written at most once a minute


def test_a_pull_when_nothing_changed_asks_the_database_one_question(kiosks, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    _, _, kiosk, _ = kiosks
    first = json_of(kiosk.send("GET", "/sync/v1/pull?cursor=0&limit=100000"))
    assert first["records"] and not first["more"]

    def statements(path: str) -> tuple[dict, list[str]]:  # type: ignore[type-arg]
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="peewee"):
            answer = json_of(kiosk.send("GET", path))
        return answer, [r.getMessage() for r in caplog.records if r.name == "peewee"]

    idle, asked = statements(f"/sync/v1/pull?cursor={first['cursor']}&limit=100")
    clock = idle.pop("server_time_ms")
    assert abs(clock - time.time() * 1000) < 60_000  # central's clock, for the node
    assert idle.pop("server_received_ms") <= clock  # and when the pull reached it
    assert idle == {"records": [], "cursor": first["cursor"], "more": False}
    # The post's key and the change counter: no query per model (there were 19).
    assert len(asked) == 2 and "sync_sequence" in asked[1], asked
    # A post behind the counter: the models are asked and the changes arrive.
    behind, asked = statements("/sync/v1/pull?cursor=0&limit=100")
    assert behind["records"] and len([q for q in asked if '"seq" >' in q]) > 1


def test_a_replayed_request_is_still_refused(kiosks) -> None:  # type: ignore[no-untyped-def]
    from sync.request_signing import signed_headers

    _, _, kiosk, _ = kiosks
    path = "/sync/v1/pull?cursor=0&limit=1"
    headers = signed_headers(kiosk.key, kiosk.node_id, "GET", path, b"")
    assert kiosk.client.get(path, headers=headers).status_code == 200
    again = kiosk.client.get(path, headers=headers)
    assert again.status_code == 401 and again.get_json()["error"] == "replayed"


def test_memory_nonces_remember_within_the_window_and_forget_after() -> None:
    clock = ManualClock()
    store = MemoryNonces(clock=clock)
    assert store.first_time("kiosk-1", "n1", 60)
    clock.advance(59)
    assert not store.first_time("kiosk-1", "n1", 60)
    assert store.first_time("kiosk-2", "n1", 60)  # another node's nonce is another nonce
    clock.advance(2)
    assert store.first_time("kiosk-1", "n1", 60)


def test_memory_nonces_are_bounded() -> None:
    store = MemoryNonces(limit=100)
    for n in range(1000):
        store.first_time("kiosk-1", str(n), 60)
    assert len(store._seen) <= 100


def test_redis_nonces_are_shared_by_every_instance() -> None:
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    prefix = f"faplink-test:{uuid.uuid4().hex}:"
    one, other = (
        RedisNonces(client, prefix),
        RedisNonces(redis.Redis.from_url("redis://127.0.0.1:6379/0"), prefix),
    )
    assert one.first_time("kiosk-1", "n1", 60)
    assert not other.first_time("kiosk-1", "n1", 60)  # the replay to another instance fails too
    # Redis times the window itself: a short one runs out, and the nonce is new again.
    assert one.first_time("kiosk-1", "n2", 0.05)
    wait_until(lambda: other.first_time("kiosk-1", "n2", 60), "Redis to forget the nonce")


class _Client:
    def ping(self) -> bool:
        return True


def test_rounds_are_jittered_and_a_return_after_an_outage_is_spread() -> None:
    worker = SyncWorker(_Client(), interval=15.0)  # type: ignore[arg-type]
    pauses = {round(worker.next_delay(), 3) for _ in range(200)}
    assert len(pauses) > 150 and min(pauses) >= 12.0 and max(pauses) <= 18.0
    spreads = [worker.spread() for _ in range(200)]
    assert 0 <= min(spreads) < 2 and 8 < max(spreads) <= SPREAD_CAP


def test_while_central_pushes_the_timer_is_a_safety_net() -> None:
    worker = SyncWorker(_Client(), interval=15.0, safety_interval=300.0)  # type: ignore[arg-type]
    linked = [True]
    worker.linked = lambda: linked[0]
    pauses = [worker.next_delay() for _ in range(200)]
    assert 240.0 <= min(pauses) and max(pauses) <= 360.0
    linked[0] = False  # offline, or the link is turned off: the post polls as before
    pauses = [worker.next_delay() for _ in range(200)]
    assert 12.0 <= min(pauses) and max(pauses) <= 18.0
    worker.failures = 3  # and backs off alike either way
    linked[0] = True
    assert all(worker.next_delay() <= 16.0 for _ in range(200))
    # A safety net set shorter than the timer does not make a linked post poll more often.
    assert SyncWorker(_Client(), interval=3600.0, safety_interval=300.0).safety_interval == 3600.0  # type: ignore[arg-type]


class _CountingClient(_Client):
    def __init__(self) -> None:
        self.rounds = 0

    def run_round(self) -> None:
        self.rounds += 1


def test_when_the_link_drops_during_a_safety_pause_the_post_polls_again_on_its_timer() -> None:
    client = _CountingClient()
    worker = SyncWorker(client, interval=0.05, safety_interval=3600.0, probe_interval=0.05)  # type: ignore[arg-type]
    linked = [True]
    worker.linked = lambda: linked[0]
    worker.start()
    try:
        wait_until(lambda: client.rounds >= 1, "the first round")
        assert client.rounds == 1  # the next one is an hour away while linked
        linked[0] = False
        wait_until(lambda: client.rounds >= 3, "rounds on the timer once the link is down")
    finally:
        worker.stop()


def _statements(caplog, send) -> tuple[object, list[str]]:  # type: ignore[no-untyped-def]
    """What `send()` answered, and the SQL statements central ran for it."""
    import logging

    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        answer = send()
    return answer, [r.getMessage() for r in caplog.records if r.name == "peewee"]


def test_a_polling_posts_round_that_finds_nothing_is_one_pull_of_two_questions(kiosks, caplog) -> None:  # type: ignore[no-untyped-def]
    from domain.migrations import SCHEMA_VERSION

    _, _, kiosk, _ = kiosks
    cursor = json_of(kiosk.send("GET", "/sync/v1/pull?cursor=0&limit=100000"))["cursor"]
    # Its hello said lately still holds: the round is the pull alone, saying the post's versions.
    path = f"/sync/v1/pull?cursor={cursor}&limit=200&protocol=1&schema={SCHEMA_VERSION}"
    response, asked = _statements(caplog, lambda: kiosk.send("GET", path))
    assert response.status_code == 200 and json_of(response)["records"] == []
    assert abs(json_of(response)["server_time_ms"] - time.time() * 1000) < 60_000  # the post's clock
    writes = [q for q in asked if q.startswith(("('UPDATE", "('INSERT", "('DELETE"))]
    assert len(asked) <= 2 and not writes, asked


def test_a_hello_writes_only_what_changed(kiosks, caplog) -> None:  # type: ignore[no-untyped-def]
    from domain.migrations import SCHEMA_VERSION

    _, _, kiosk, _ = kiosks
    hello = {"protocol": 1, "schema": SCHEMA_VERSION, "software": "1.0"}
    assert kiosk.post_json("/sync/v1/hello", hello).status_code == 200
    node = KnownNode.get_by_id(kiosk.node_id)
    assert (node.schema_version, node.software_version) == (SCHEMA_VERSION, "1.0")  # the fleet page's
    response, asked = _statements(caplog, lambda: kiosk.post_json("/sync/v1/hello", hello))
    assert response.status_code == 200
    assert not [q for q in asked if q.startswith(("('UPDATE", "('INSERT", "('DELETE"))], asked
    assert kiosk.post_json("/sync/v1/hello", hello | {"software": "1.1"}).status_code == 200
    assert KnownNode.get_by_id(kiosk.node_id).software_version == "1.1"  # an update shows at once
