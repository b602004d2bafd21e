"""The protocol's extras: ICD-10 search, files, «Подписание протокола»."""

from flask import Blueprint

bp = Blueprint("protocols", __name__, url_prefix="", template_folder="../templates")

from . import routes  # noqa: E402,F401
