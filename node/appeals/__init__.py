"""Appeals at the post: lists, the closed appeal with its protocol, «Записать пациента»."""

from flask import Blueprint

from sync.errors import N_
from sync.models import Role
from web.features import MenuItem

bp = Blueprint("appeals", __name__, template_folder="../templates")

MENU = [MenuItem("appeals.book", N_("Записать пациента"), (Role.FELDSHER,))]

from . import booking, routes  # noqa: E402,F401
