"""«Нужна помощь» at the post: callback and feedback, queued offline."""

from flask import Blueprint

from domain.models import Role
from i18n import N_
from web.features import MenuItem

bp = Blueprint("support", __name__, url_prefix="", template_folder="../templates")

MENU = [MenuItem("support.index", N_("Нужна помощь"), (Role.FELDSHER,))]

#: The support line from the users' manual.
SUPPORT_PHONE = "8 (800) 500-02-99"

from . import routes  # noqa: E402,F401
