"""«Маршрутизация»: «Создание направления» and «Запись на консультацию»."""

from flask import Blueprint

bp = Blueprint("routing", __name__, url_prefix="", template_folder="../templates")

from . import routes  # noqa: E402,F401
