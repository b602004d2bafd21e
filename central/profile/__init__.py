"""The consultant's profile: time zone, visibility."""

from flask import Blueprint

from i18n import N_
from web.features import MenuItem

bp = Blueprint("profile", __name__, url_prefix="/profile", template_folder="../templates")

#: Every central user has a profile (the time zone matters to all of them).
MENU = [MenuItem("profile.show", N_("Профиль"))]

from . import routes  # noqa: E402,F401
