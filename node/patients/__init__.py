"""Patients of the post: search by phone, SNILS or ЕНП; registration."""

from flask import Blueprint

bp = Blueprint("patients", __name__, template_folder="../templates")

from . import routes  # noqa: E402,F401
