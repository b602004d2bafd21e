"""A read-only FHIR R4 (4.0.1) API for a region's МИС and other systems, under /fhir/R4.

`metadata`; read and search of Patient, Practitioner, Organization,
ServiceRequest (the appeal), Observation (vitals and lab results), Composition
(the protocol), Condition (its diagnoses), DocumentReference (the protocol's
PDF and signatures), Consent (the ИДС); `Patient/<id>/$everything`; Binary for
the documents' bytes. Readers: a consultant's or administrator's session, or a
МИС's Bearer token (`tokens`). `export` writes the same resources as Bulk Data
NDJSON (`faplink central export-fhir`).
"""

import logging

from flask import Blueprint
from flask.sansio.blueprints import BlueprintSetupState

bp = Blueprint("fhir", __name__, url_prefix="/fhir/R4")

from runtime.logs import PrivacyFilter  # noqa: E402

from . import routes  # noqa: E402,F401
from .admin import admin_bp  # noqa: E402
from .tokens import ensure_tables  # noqa: E402


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    """The tokens' table is central-only, created here, with the administrator's page for them;
    the request log hides FHIR queries."""
    ensure_tables()
    state.app.register_blueprint(admin_bp)
    # Searches carry SNILS, ЕНП and names in their query (`Patient?identifier=…`): the request
    # log keeps none of it, however the process configured its logging.
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, PrivacyFilter) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(PrivacyFilter())
