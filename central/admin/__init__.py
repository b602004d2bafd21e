"""Administration: regions, organisations, specialties, users and roles."""

from flask import Blueprint

from domain.models import Role
from i18n import N_
from web.features import MenuItem

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="../templates")

MENU = [
    MenuItem("admin.index", N_("Администрирование"), (Role.ADMIN,)),
    MenuItem("admin.audit_journal", N_("Журнал доступа"), (Role.AUDITOR,)),
]

from . import audit_routes, routes, user_routes  # noqa: E402,F401
