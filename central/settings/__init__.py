"""«Настройки» for the consultant: camera, microphone and speakers checked in the browser,
and the browser's link to central (the manual: «проверить состояние аппаратуры … а также
качество видео и аудио связи»)."""

from flask import Blueprint

from domain.models import Role
from i18n import N_
from web.features import MenuItem

bp = Blueprint("settings", __name__, url_prefix="", template_folder="../templates")

MENU = [MenuItem("settings.index", N_("Настройки"), (Role.CONSULTANT, Role.ADMIN))]

from . import routes  # noqa: E402,F401
