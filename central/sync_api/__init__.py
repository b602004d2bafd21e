"""The sync API nodes call (/sync/v1): every request signed by the node's key."""

from flask import Blueprint

from sync.post_changes import PostChanges

bp = Blueprint("sync_api", __name__, url_prefix="/sync/v1")
# Which posts the latest changes concern, per process: a pull with nothing in its post's
# scope is answered from it (sync.post_changes).
bp.record_once(lambda state: state.app.extensions.setdefault("post_changes", PostChanges()))

from . import routes  # noqa: E402,F401
