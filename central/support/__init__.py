"""«Нужна помощь»: callback requests and feedback, and the staff's list of them."""

from flask import Blueprint

from domain.models import Role
from i18n import N_
from web.features import MenuItem

bp = Blueprint("support", __name__, url_prefix="/support", template_folder="../templates")

#: The support line the manual gives (shown on «Нужна помощь» and in the profile).
SUPPORT_PHONE = "8 (800) 500-02-99"

#: Who works through the requests.
SUPPORT_STAFF = (Role.ADMIN, Role.ENGINEER)

MENU = [
    MenuItem("support.help", N_("Нужна помощь")),
    MenuItem("support.requests", N_("Обращения в поддержку"), SUPPORT_STAFF),
]

from . import routes  # noqa: E402,F401
