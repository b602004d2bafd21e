"""Field engineers' fleet page and enrolment tokens."""

from flask import Blueprint

bp = Blueprint("fleet", __name__, url_prefix="/fleet", template_folder="../templates")

from . import routes  # noqa: E402,F401
