"""«Нужна помощь»: callback requests and feedback, and the staff's list of them."""

from flask import Blueprint

bp = Blueprint("support", __name__, url_prefix="/support", template_folder="../templates")

from . import routes  # noqa: E402,F401
