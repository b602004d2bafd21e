"""«Обследование»: complaints, objective status, vitals by hand or from devices."""

from flask import Blueprint

bp = Blueprint("exams", __name__, url_prefix="", template_folder="../templates")

from . import routes  # noqa: E402,F401
