"""The sync API nodes call (/sync/v1): every request signed by the node's key."""

from flask import Blueprint

bp = Blueprint("sync_api", __name__, url_prefix="/sync/v1")

from . import routes  # noqa: E402,F401
