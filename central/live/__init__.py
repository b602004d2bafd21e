"""The live-update hub at central: what changed, for which consultant and which post.

After every write (`hooks`) the change feed (`feed`) tells, over Socket.IO, the
consultants' browsers and the posts' nodes concerned (`sockets`: who may listen
to what); `presence` knows which posts have a node linked right now. Chat, calls
and the queues use the hub like any other feature: they emit to its rooms and
ask it whether a post is linked.
"""

from __future__ import annotations

from flask import Blueprint

bp: Blueprint = Blueprint("live", __name__)

from . import hooks, sockets  # noqa: E402,F401
from .hooks import linked_posts, live_feed  # noqa: E402

__all__ = ["bp", "live_feed", "linked_posts"]
