"""The consultant's appeals: queues, the appeal card, «Взять в работу», «Протокол», PDF."""

from flask import Blueprint

bp = Blueprint("appeals", __name__, template_folder="../templates")

from . import routes  # noqa: E402,F401
