"""The appeal's chat over Socket.IO, persisted and synced to the post."""

from flask import Blueprint

bp = Blueprint("chat", __name__, url_prefix="", template_folder="../templates")

from . import routes  # noqa: E402,F401
