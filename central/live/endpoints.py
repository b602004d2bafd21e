"""Central's Socket.IO endpoints, written once for either server that holds the connections.

A handler takes the connection it serves (`Connection`: its id, its namespace, its rooms
and the headers of its handshake) and the event's payload, and returns the
acknowledgement. It runs inside a request context made from the connection's
handshake (so Flask's `session` is the consultant's), whichever server called it:

- Flask-SocketIO, in the app's own process (`faplink central run` without
  ``--workers``, the demo, the tests' apps): every handler is registered on it here;
- the realtime gateway (`central.gateway`), an asyncio server that holds thousands of
  connections and runs these same handlers in worker threads.

`on(event, namespace)` registers a handler for both; `ENDPOINTS` is what the gateway serves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from flask import request
from flask_socketio import join_room, rooms

from ..extensions import socketio

__all__ = ["Connection", "Handler", "ENDPOINTS", "on", "FlaskSocketIOConnection"]


class Connection(Protocol):
    """One client's Socket.IO connection, as the handlers see it."""

    @property
    def sid(self) -> str: ...

    @property
    def namespace(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]:
        """The HTTP headers of the connection's handshake."""
        ...

    def join(self, room: str) -> None:
        """Hear what is emitted to `room` from now on."""
        ...

    def rooms(self) -> list[str]: ...


#: ``handler(connection, payload) -> acknowledgement``; "connect" refuses by raising
#: ConnectionRefusedError, "disconnect" gets the reason as its payload.
Handler = Callable[[Connection, Any], Any]

#: (namespace, event) → handler: every endpoint central serves.
ENDPOINTS: dict[tuple[str, str], Handler] = {}


class FlaskSocketIOConnection:
    """The connection of the Flask-SocketIO event being handled (its request context)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.sid: str = request.sid  # type: ignore[attr-defined]

    @property
    def headers(self) -> Mapping[str, str]:
        return request.headers  # type: ignore[return-value]

    def join(self, room: str) -> None:
        join_room(room, sid=self.sid, namespace=self.namespace)

    def rooms(self) -> list[str]:
        return list(rooms(sid=self.sid, namespace=self.namespace))


def on(event: str, namespace: str) -> Callable[[Handler], Handler]:
    """Register `handler` for `event` in `namespace`, for Flask-SocketIO and the gateway alike."""

    def register(handler: Handler) -> Handler:
        if (namespace, event) in ENDPOINTS:
            raise ValueError(f"{event} in {namespace} has a handler already")
        ENDPOINTS[(namespace, event)] = handler

        def in_flask_socketio(*args: Any) -> Any:
            return handler(FlaskSocketIOConnection(namespace), args[0] if args else None)

        in_flask_socketio.__name__ = handler.__name__
        socketio.on_event(event, in_flask_socketio, namespace=namespace)
        return handler

    return register
