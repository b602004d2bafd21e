"""The signed protocol at the post: its offline check and «Скачать подписанный протокол»."""

from flask import Blueprint

bp = Blueprint("signatures", __name__, url_prefix="", template_folder="../templates")

from . import routes  # noqa: E402,F401
