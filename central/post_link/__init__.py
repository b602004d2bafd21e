"""How well each post's link to central can carry a consultation, as the posts measure it.

Two blueprints: the node-facing probes and reports under /sync/link/v1
(signed like the sync API; JSON errors, no CSRF), and the consultants' view —
a JSON route under /api/v1 and `post_link(appeal)` for the appeal page's
«Связь с ФАП» (central/_appeal_link.html).
"""

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

bp = Blueprint("linkcheck", __name__, url_prefix="/api/v1", template_folder="../templates")

from . import routes  # noqa: E402,F401
from .probes import node_bp  # noqa: E402
from .store import ensure_tables  # noqa: E402


@bp.record_once
def _register_node_routes(state: BlueprintSetupState) -> None:
    """The probes live under /sync/link/v1: a second blueprint, registered with this one."""
    state.app.register_blueprint(node_bp)
    ensure_tables()
