"""The sync bar's actions: «Синхронизировать сейчас» and the status page."""

from flask import Blueprint

from domain.models import Role
from i18n import N_
from web.features import MenuItem

bp = Blueprint("sync_ui", __name__, template_folder="../templates")

MENU = [MenuItem("sync_ui.status", N_("Синхронизация"), (Role.FELDSHER,))]

from . import routes  # noqa: E402,F401
