"""Feldsher login at the post, offline, against credentials synced from central; lock-out; idle timeout."""

from flask import Blueprint

bp = Blueprint("auth", __name__, static_folder="static", static_url_path="/static/auth")

from . import routes  # noqa: E402,F401
