"""Field engineers' fleet page («Парк киосков»), enrolment tokens, and the node-facing fleet routes."""

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from domain.models import Role
from i18n import N_
from web.features import MenuItem

bp = Blueprint("fleet", __name__, url_prefix="/fleet", template_folder="../templates")

#: Who looks after the kiosks: field engineers and administrators.
FLEET_ROLES = (Role.ENGINEER, Role.ADMIN)

MENU = [MenuItem("fleet.index", N_("Парк киосков"), FLEET_ROLES)]

from . import routes  # noqa: E402,F401
from .node_api import node_bp  # noqa: E402
from .store import ensure_tables  # noqa: E402


@bp.record_once
def _register_node_routes(state: BlueprintSetupState) -> None:
    """The node-facing routes live under /sync/fleet (JSON errors, no CSRF): a second
    blueprint, registered with this one; the reports table is created here too."""
    state.app.register_blueprint(node_bp)
    ensure_tables()
