"""Extensions created once and bound in the app factory, and the Redis the instances share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask_socketio import SocketIO

if TYPE_CHECKING:
    from redis import Redis

__all__ = ["socketio", "shared_redis"]

socketio = SocketIO()


def shared_redis(message_queue: str | None) -> Redis | None:
    """The Redis that several central instances share as Socket.IO's message queue (MESSAGE_QUEUE),
    where they also keep what all of them must see alike; None for a single instance."""
    if message_queue and message_queue.startswith(("redis://", "rediss://", "unix://")):
        from redis import Redis

        return Redis.from_url(message_queue)
    return None
