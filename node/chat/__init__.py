"""The appeal's chat at the post: stored locally, relayed to central by the sync.

The kiosk's pages talk to this node only (pages, JSON API, Socket.IO); the node
keeps a Socket.IO link to central while online (see `link`) so that what the
consultant writes arrives within seconds.
"""

from flask import Blueprint

bp = Blueprint("chat", __name__, url_prefix="", template_folder="../templates")

from . import live, routes  # noqa: E402,F401
