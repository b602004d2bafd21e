"""The node starts with the batch size its link allowed last time, and halves it when the link fails."""

from __future__ import annotations

import pytest

from sync.client import FIRST_BATCH, MAX_BATCH, MIN_BATCH, SyncClient
from sync.errors import TransportError
from sync.request_signing import NodeKey
from sync.session import CentralSession
from sync.state import Cursor
from tests.helpers.ports import free_port


def client_for(app, url: str) -> SyncClient:  # type: ignore[no-untyped-def]
    central = CentralSession(url, "test-post-1", NodeKey.generate(), timeout=2)
    return SyncClient(central, app.extensions["blobs"])


def test_a_new_node_starts_small_then_remembers(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _data = node_app
    assert client_for(app, "http://127.0.0.1:9").batch_size == FIRST_BATCH
    Cursor.write("batch_size", 1600)
    assert client_for(app, "http://127.0.0.1:9").batch_size == 1600
    Cursor.write("batch_size", 10**9)
    assert client_for(app, "http://127.0.0.1:9").batch_size == MAX_BATCH
    Cursor.write("batch_size", 1)
    assert client_for(app, "http://127.0.0.1:9").batch_size == MIN_BATCH


def test_a_failed_link_halves_the_batch_and_the_next_start_knows(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _data = node_app
    Cursor.write("batch_size", 1600)
    Cursor.write("clock_offset", 0)  # measured before: the round starts with the signed hello
    client = client_for(app, f"http://127.0.0.1:{free_port()}")  # nobody listens there
    with pytest.raises(TransportError):
        client.run_round()
    assert client.status.state == "offline"
    assert Cursor.read("batch_size") == 800
    assert client_for(app, "http://127.0.0.1:9").batch_size == 800
