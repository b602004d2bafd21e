"""The sync bar's actions: «Синхронизировать сейчас» and the status page."""

from flask import Blueprint

bp = Blueprint("sync_ui", __name__, template_folder="../templates")

from . import routes  # noqa: E402,F401
