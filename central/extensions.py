"""Extensions created once and bound in the app factory, and the Redis the instances share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask_socketio import SocketIO

if TYPE_CHECKING:
    from flask.sansio.app import App
    from redis import Redis

__all__ = ["socketio", "socketio_options", "shared_redis", "LEASE_SECONDS", "MESSAGE_CHANNEL"]

socketio = SocketIO()

#: The Redis channel of Socket.IO's message queue (Flask-SocketIO's default, spelled out
#: because the realtime gateway must listen on the same one).
MESSAGE_CHANNEL = "flask-socketio"

#: How long an entry one instance keeps in the shared Redis (a call under way, a post's
#: link) outlives its last renewal: an instance that died leaves nothing behind for longer.
LEASE_SECONDS = 90


def shared_redis(app: App) -> Redis | None:
    """The Redis that several central instances share as Socket.IO's message queue (MESSAGE_QUEUE),
    where they also keep what all of them must see alike; None for a single instance.
    One client (and connection pool) per app, whichever feature asks first."""
    if "shared_redis" not in app.extensions:
        url = app.config.get("MESSAGE_QUEUE")
        client = None
        if url and url.startswith(("redis://", "rediss://", "unix://")):
            from redis import Redis

            client = Redis.from_url(url)
        app.extensions["shared_redis"] = client
    return app.extensions["shared_redis"]  # type: ignore[no-any-return]


def socketio_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """How Flask-SocketIO serves this app: itself, in threads, or (`REALTIME_GATEWAY`) not at all,
    only writing to the message queue whose listener, the gateway, holds the connections."""
    options: dict[str, Any] = {"async_mode": "threading", "cors_allowed_origins": []}
    url = config.get("MESSAGE_QUEUE")
    if config.get("REALTIME_GATEWAY"):
        from socketio import RedisManager

        options["client_manager"] = RedisManager(url, channel=MESSAGE_CHANNEL, write_only=True)
    else:
        options.update(message_queue=url, channel=MESSAGE_CHANNEL)
    return options
