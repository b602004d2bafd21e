"""The appeal's chat over Socket.IO, persisted and synced to the post; live queues.

Routes: the chat form and files (pages), `/api/v1/appeals/<id>/messages` (JSON).
Sockets: consultants' browsers and the posts' nodes (see `sockets`), told of
changes by the change feed (see `live`).
"""

from flask import Blueprint

bp = Blueprint("chat", __name__, url_prefix="", template_folder="../templates")

from . import routes, sockets  # noqa: E402,F401
