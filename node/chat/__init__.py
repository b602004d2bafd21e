"""The appeal's chat at the post, relayed to central by the node."""

from flask import Blueprint

bp = Blueprint("chat", __name__, url_prefix="", template_folder="../templates")

from . import routes  # noqa: E402,F401
