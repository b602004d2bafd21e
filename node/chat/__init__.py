"""The appeal's chat at the post: stored locally, relayed to central by the sync.

The kiosk's pages talk to this node only (pages, JSON API); what the consultant
writes arrives within seconds through the live-update hub (`node.live`), which
hears from central that the post's records changed.
"""

from flask import Blueprint

bp = Blueprint("chat", __name__, url_prefix="", template_folder="../templates")

from . import routes  # noqa: E402,F401
