"""«Записать пациента» for the consultant, as the manual's wizard: find the patient (or create
the card), choose the doctor, date and time, write the appeal with its files, check, create."""

from flask import Blueprint

from domain.models import Role
from i18n import N_
from web.features import MenuItem

bp = Blueprint("patient_booking", __name__, url_prefix="", template_folder="../templates")

MENU = [MenuItem("patient_booking.find", N_("Записать пациента"), (Role.CONSULTANT,))]

from . import routes  # noqa: E402,F401
