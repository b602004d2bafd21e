"""The protocol's extras: ICD-10 search, files, «Подписание протокола», «Электронная подпись»."""

from flask import Blueprint
from flask.sansio.blueprints import BlueprintSetupState

bp = Blueprint("protocols", __name__, url_prefix="", template_folder="../templates")

from . import routes, settings_routes  # noqa: E402,F401
from .signer_settings import ensure_tables  # noqa: E402


@bp.record_once
def _create_tables(state: BlueprintSetupState) -> None:
    """Each centre's signer choice is a central-only table, created here rather than by sync's migrations."""
    ensure_tables()
