"""Profile (time zone) and «Настройки» with the device checks."""

from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="", template_folder="../templates")

from . import routes  # noqa: E402,F401
