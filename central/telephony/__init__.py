"""«Аудиозвонок на телефон»: a telephony gateway per centre joins the consultant's phone and the patient's.

Routes: «Телефония» in administration, the consultant's own number in «Профиль»,
the button on the appeal page, and /api/v1 for the same. The gateway is an
adapter (`gateway.TelephonyGateway`); the one implemented speaks SIP over UDP
(`sip`), third-party call control so the patient sees only the centre's number.
"""

from pathlib import Path

from flask import Blueprint
from flask.sansio.blueprints import BlueprintSetupState

from web.settings import sealing_key_for

bp = Blueprint("telephony", __name__, url_prefix="", template_folder="../templates")

from . import routes  # noqa: E402,F401
from .store import ensure_tables  # noqa: E402


@bp.record_once
def _create_tables(state: BlueprintSetupState) -> None:
    """The settings tables are central-only, created here rather than by sync's migrations;
    the SIP password is sealed in them with the data directory's sealing key."""
    ensure_tables()
    state.app.extensions["sealing_key"] = sealing_key_for(Path(state.app.config["DATA_DIR"]))
