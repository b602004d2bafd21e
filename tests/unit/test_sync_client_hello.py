"""A polling post's round that has nothing to send is one pull: the hello is said at the node's
start, after a failed round, before a push, when the kiosk's clock jumped, and every few minutes."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import current_app
from requests.adapters import BaseAdapter

from domain.migrations import SCHEMA_VERSION
from domain.models import Patient
from sync.client import CLOCK_JUMP_S, HELLO_EVERY_S, LastHello, SyncClient
from sync.errors import TransportError
from sync.request_signing import NodeKey
from sync.session import CentralSession
from sync.state import Cursor

CENTRAL = "http://central.test"


class FakeCentral(BaseAdapter):
    """Central as a node sees it over HTTP, answering a round that changes nothing; it keeps
    the requests it was sent (method, path and query), and may be told to fail one pull."""

    def __init__(self, *, clock_ahead_ms: int = 0, tells_time: bool = True) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, dict[str, list[str]]]] = []
        self.clock_ahead_ms = clock_ahead_ms
        self.tells_time = tells_time  # a central from before the pull carried its clock: False
        self.fail_next_pull = False

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        path, query = parts.path.removeprefix("/sync/v1"), parse_qs(parts.query)
        self.sent.append((request.method or "", path, query))
        now = int(time.time() * 1000) + self.clock_ahead_ms
        body: dict[str, Any] = {}
        if path == "/ping":
            body = {"ok": True, "server_time_ms": now}
        elif path == "/hello":
            body = {"protocol": 1, "schema": SCHEMA_VERSION, "server_time_ms": now, "features": []}
        elif path == "/push":
            body = {"applied": 0, "stale": 0, "pending": 0, "refused": []}
        elif path == "/pull" and self.fail_next_pull:
            self.fail_next_pull = False
            raise requests.ConnectionError("the link dropped")
        elif path == "/pull":
            body = {"records": [], "cursor": int(query["cursor"][0]), "more": False}
            if self.tells_time:
                body["server_time_ms"] = now
        elif path == "/blobs/missing":
            body = {"missing": [], "offsets": {}}
        response = requests.Response()
        response.status_code, response.url, response.request = 200, request.url or "", request
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        return response

    def close(self) -> None:
        pass

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.sent]


def _client(central: FakeCentral) -> SyncClient:
    session = CentralSession(CENTRAL, "test-post-1", NodeKey.generate(), timeout=2)
    session.http.mount(CENTRAL, central)
    return SyncClient(session, current_app.extensions["blobs"])  # the node's, as its app made it


@pytest.fixture
def node(node_app):  # type: ignore[no-untyped-def]
    app, data = node_app
    with app.app_context():
        yield data


def test_a_polling_posts_second_round_is_one_pull_that_says_its_versions(node) -> None:  # type: ignore[no-untyped-def]
    central = FakeCentral()
    client = _client(central)
    client.run_round()
    assert "/hello" in central.paths()  # the node's first round says hello (its clock measured first)
    central.sent.clear()
    client.run_round()
    assert central.paths() == ["/pull"]
    assert central.sent[0][2]["protocol"] == ["1"] and central.sent[0][2]["schema"] == [str(SCHEMA_VERSION)]


def test_the_pull_of_a_round_without_hello_measures_centrals_clock(node) -> None:  # type: ignore[no-untyped-def]
    central = FakeCentral()
    client = _client(central)
    client.run_round()
    central.clock_ahead_ms = 90_000  # central's clock (or ours) moved meanwhile
    client.run_round()
    assert central.paths()[-1] == "/pull"
    assert abs((client.central.clock_offset_ms or 0) - 90_000) < 5_000
    assert abs(Cursor.read("clock_offset") - 90_000) < 5_000  # kept across restarts, as the hello's


def test_a_central_whose_pull_does_not_tell_its_clock_is_still_understood(node) -> None:  # type: ignore[no-untyped-def]
    central = FakeCentral(tells_time=False)
    client = _client(central)
    client.run_round()
    offset = client.central.clock_offset_ms
    client.run_round()
    assert central.paths()[-1] == "/pull" and client.central.clock_offset_ms == offset


def test_a_round_with_something_to_push_says_hello_first(node) -> None:  # type: ignore[no-untyped-def]
    central = FakeCentral()
    client = _client(central)
    client.run_round()
    central.sent.clear()
    Patient.create(
        last_name="Яковлева",
        first_name="Ирина",
        birth_date=date(1977, 7, 7),
        sex="female",
        phone="+79165550011",
        organization=node.posts[0][0],
    )
    client.run_round()
    assert central.paths()[:2] == ["/hello", "/push"]


def test_after_a_failed_round_the_next_says_hello(node) -> None:  # type: ignore[no-untyped-def]
    central = FakeCentral()
    client = _client(central)
    client.run_round()
    central.fail_next_pull = True
    with pytest.raises(TransportError):
        client.run_round()
    central.sent.clear()
    client.run_round()
    assert central.paths() == ["/hello", "/pull"]
    central.sent.clear()
    client.run_round()  # and once that went well, the hello holds again
    assert central.paths() == ["/pull"]


def test_the_hello_is_said_again_after_a_few_minutes(node) -> None:  # type: ignore[no-untyped-def]
    central = FakeCentral()
    client = _client(central)
    client.run_round()
    assert client._last_hello is not None
    client._last_hello = replace(client._last_hello, at=client._last_hello.at - HELLO_EVERY_S)
    central.sent.clear()
    client.run_round()
    assert central.paths() == ["/hello", "/pull"]


def test_what_makes_a_hello_stale() -> None:
    said = LastHello(at=1000.0, wall_minus_monotonic=5000.0, schema=7, software="1.0")
    assert said.holds(7, "1.0", mono=1010.0, wall=6010.0)
    assert not said.holds(7, "1.0", mono=1000.0 + HELLO_EVERY_S, wall=6000.0 + HELLO_EVERY_S)
    assert not said.holds(7, "1.0", mono=1010.0, wall=6010.0 + CLOCK_JUMP_S)  # the kiosk's clock jumped
    assert not said.holds(7, "1.0", mono=1010.0, wall=6010.0 - 7 * 24 * 3600)
    assert not said.holds(8, "1.0", mono=1010.0, wall=6010.0)  # migrated: central must hear of it
    assert not said.holds(7, "1.1", mono=1010.0, wall=6010.0)  # the fleet page shows the version
