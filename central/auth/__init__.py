"""Consultant, administrator and engineer login at central: server-side sessions, throttling,
the password policy and temporary passwords."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import routes  # noqa: E402,F401
