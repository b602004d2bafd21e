"""«Расписание»: schedule templates, slot grid, «График»."""

from flask import Blueprint

bp = Blueprint("schedules", __name__, url_prefix="/schedule", template_folder="../templates")

from . import routes  # noqa: E402,F401
