"""«Расписание»: schedule templates, slot grid, «График»."""

from flask import Blueprint

from faplink.web.features import MenuItem
from sync.errors import N_
from sync.models import Role

bp = Blueprint("schedules", __name__, url_prefix="/schedule", template_folder="../templates")

MENU = [MenuItem("schedules.templates", N_("Расписание"), (Role.CONSULTANT, Role.ADMIN))]

from . import routes  # noqa: E402,F401
