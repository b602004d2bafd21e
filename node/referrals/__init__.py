"""«Направления»: referrals issued at this post."""

from flask import Blueprint

bp = Blueprint("referrals", __name__, url_prefix="", template_folder="../templates")

from . import routes  # noqa: E402,F401
