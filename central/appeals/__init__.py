"""The consultant's appeals: queues, the appeal card with the exam and file previews, «Взять в работу»,
«Протокол», PDF."""

from flask import Blueprint

bp = Blueprint("appeals", __name__, template_folder="../templates")

from . import examination, queue, routes  # noqa: E402,F401
