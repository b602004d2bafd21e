"""Appeals at the post: lists, the closed appeal with its protocol, «Записать пациента»."""

from flask import Blueprint

from domain.models import Role
from i18n import N_
from web.features import MenuItem

bp = Blueprint("appeals", __name__, template_folder="../templates")

MENU = [MenuItem("appeals.book", N_("Записать пациента"), (Role.FELDSHER,))]

from . import booking, routes  # noqa: E402,F401
