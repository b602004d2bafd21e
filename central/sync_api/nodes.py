"""Which enrolled node sent this request: its Ed25519 signature over method, path and body.

One place for every blueprint that nodes call (the sync API, the fleet's node
routes, the link probes), so that they all check a request the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from flask import current_app, request

from central.extensions import shared_redis
from sync import server
from sync.nonces import MemoryNonces, NonceStore, RedisNonces
from sync.state import KnownNode

__all__ = ["signed_path", "request_node", "seen_nonces"]


def signed_path() -> str:
    """The path the node signed: the request's path with its query string, if any."""
    query = request.query_string.decode()
    return request.path + (f"?{query}" if query else "")


def seen_nonces() -> NonceStore:
    """Where this central remembers the signed requests' nonces: the shared Redis when several
    instances run (a replay to another instance fails too), else this process's memory."""
    app = current_app
    if "sync_nonces" not in app.extensions:
        shared = shared_redis(app)
        app.extensions["sync_nonces"] = RedisNonces(shared) if shared is not None else MemoryNonces()
    return app.extensions["sync_nonces"]  # type: ignore[no-any-return]


def request_node(body: bytes | None = None) -> KnownNode:
    """The node that signed this request (raises a SyncError with its own code if none did).
    `body`: what was read from the stream already, when the caller had to read it itself."""
    data = request.get_data(cache=True) if body is None else body
    # The request's own headers (looked up by name, case-insensitively), not a copy of them all.
    headers = cast(Mapping[str, str], request.headers)
    return server.authenticate(request.method, signed_path(), data, headers, seen_nonces())
