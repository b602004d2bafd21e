"""«Обследование»: complaints, objective status, vitals by hand or from devices; files and photos."""

from flask import Blueprint

from domain.models import Role
from i18n import N_
from web.features import MenuItem

bp = Blueprint(
    "exams",
    __name__,
    url_prefix="",
    template_folder="../templates",
    static_folder="static",
    static_url_path="/static/exams",
)

MENU = [MenuItem("exams.start", N_("Обследование"), (Role.FELDSHER,))]

from . import routes  # noqa: E402,F401
