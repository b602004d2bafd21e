"""The live-update hub at the post: its pages hear from their node, the node from central.

`feed` tells the kiosk's pages (Socket.IO namespace "/") what changed in the
post's database and when a sync round ended; `link` keeps the node's signed
Socket.IO link to central, which says when this post's records changed there
(and carries the calls' signalling). `hooks` wires both into the app. Chat and
calls use the hub like any other feature.
"""

from __future__ import annotations

from flask import Blueprint

bp: Blueprint = Blueprint("live", __name__)

from . import feed, hooks  # noqa: E402,F401
from .hooks import central_link, link_to_central, live_feed  # noqa: E402

__all__ = ["bp", "central_link", "link_to_central", "live_feed"]
