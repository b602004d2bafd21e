"""«Направления»: referrals issued at this post, and a new one (patient → specialty → doctor → term)."""

from flask import Blueprint

from domain.models import Role
from i18n import N_
from web.features import MenuItem

bp = Blueprint("referrals", __name__, url_prefix="", template_folder="../templates")

MENU = [MenuItem("referrals.index", N_("Направления"), (Role.FELDSHER,))]

from . import routes  # noqa: E402,F401
