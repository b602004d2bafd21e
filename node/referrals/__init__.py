"""«Направления»: referrals issued at this post, and a new one (patient → specialty → doctor → term)."""

from flask import Blueprint

from sync.errors import N_
from sync.models import Role
from web.features import MenuItem

bp = Blueprint("referrals", __name__, url_prefix="", template_folder="../templates")

MENU = [MenuItem("referrals.index", N_("Направления"), (Role.FELDSHER,))]

from . import routes  # noqa: E402,F401
