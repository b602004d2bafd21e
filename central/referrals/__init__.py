"""«Направления»: the referrals the consultant issued, filtered by status and validity, paged."""

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from domain.models import Role
from i18n import N_
from web.features import MenuItem

bp = Blueprint("referrals", __name__, url_prefix="", template_folder="../templates")

MENU = [MenuItem("referrals.index", N_("Направления"), (Role.CONSULTANT,))]

from . import routes  # noqa: E402,F401
from .service import ensure_index  # noqa: E402


@bp.record_once
def _index(state: BlueprintSetupState) -> None:
    ensure_index()
