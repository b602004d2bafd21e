"""«Расписание»: schedule templates, slot grid, «График»."""

from flask import Blueprint

from domain.models import Role
from i18n import N_
from web.features import MenuItem

bp = Blueprint("schedules", __name__, url_prefix="/schedule", template_folder="../templates")

MENU = [MenuItem("schedules.templates", N_("Расписание"), (Role.CONSULTANT, Role.ADMIN))]

from . import routes  # noqa: E402,F401
