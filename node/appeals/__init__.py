"""Appeals at the post: lists, the closed appeal with its protocol, «Записать пациента»."""

from flask import Blueprint

bp = Blueprint("appeals", __name__, template_folder="../templates")

from . import booking, routes  # noqa: E402,F401
