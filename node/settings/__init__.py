"""«Профиль» (time zone) and «Настройки» (devices present, the entry to the device checks)."""

from flask import Blueprint

from domain.models import Role
from i18n import N_
from web.features import MenuItem

bp = Blueprint("settings", __name__, url_prefix="", template_folder="../templates")

MENU = [
    MenuItem("settings.profile", N_("Профиль"), (Role.FELDSHER,)),
    MenuItem("settings.index", N_("Настройки"), (Role.FELDSHER,)),
]

from . import device_check, routes  # noqa: E402,F401  (device_check: the endpoint settings.device_check)
