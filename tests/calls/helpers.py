"""Socket.IO clients as the calls' parties use them: a consultant's page and a post's node."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_socketio import SocketIOTestClient

from central.extensions import socketio
from node.live.link import CentralLink
from sync import server
from sync.request_signing import NodeKey
from sync.session import CentralSession
from tests.helpers.timing import wait_until
from tests.helpers.web import login

NODE = "/node"


def events(client: SocketIOTestClient, name: str, namespace: str | None = None) -> list[dict[str, Any]]:
    return [e["args"][0] for e in client.get_received(namespace) if e["name"] == name]


def wait_for_events(
    client: SocketIOTestClient, name: str, call: str, namespace: str | None = None
) -> list[dict[str, Any]]:
    """The `name` events about `call` that the client gets, once one has come (events sent from
    another thread, e.g. a ring timer's, arrive when they arrive). Other events are dropped."""
    got: list[dict[str, Any]] = []

    def arrived() -> list[dict[str, Any]]:
        got.extend(e for e in events(client, name, namespace) if e["call"] == call)
        return got

    return wait_until(arrived, f"{name} about call {call}")


def consultant_socket(app: Flask, login_name: str) -> SocketIOTestClient:
    """A consultant's appeal page: logged in, its Socket.IO connected."""
    http = app.test_client()
    login(http, login_name)
    sock = socketio.test_client(app, flask_test_client=http)
    assert sock.is_connected()
    return sock


def node_socket(app: Flask, post_id: str, node_id: str) -> SocketIOTestClient:
    """A post's node linked to central with its enrolled key (signed handshake)."""
    key = NodeKey.generate()
    server.register_node(node_id, post_id, key.public_hex)
    headers = CentralLink(CentralSession("http://127.0.0.1:9", node_id, key), lambda: None).headers()
    sock = socketio.test_client(app, namespace=NODE, headers=headers)
    assert sock.is_connected(NODE)
    return sock
