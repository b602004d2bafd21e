"""The appeal's chat, persisted and synced to the post.

Routes: the chat form and files (pages), `/api/v1/appeals/<id>/messages` (JSON).
Whoever has the appeal open hears of a new message through the live-update hub
(`central.live`), like every other change.
"""

from flask import Blueprint

bp = Blueprint("chat", __name__, url_prefix="", template_folder="../templates")

from . import routes  # noqa: E402,F401
