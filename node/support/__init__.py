"""«Нужна помощь» at the post: callback and feedback, queued offline."""

from flask import Blueprint

bp = Blueprint("support", __name__, url_prefix="/support", template_folder="../templates")

from . import routes  # noqa: E402,F401
