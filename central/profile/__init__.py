"""The consultant's profile: time zone, visibility."""

from flask import Blueprint

bp = Blueprint("profile", __name__, url_prefix="/profile", template_folder="../templates")

from . import routes  # noqa: E402,F401
