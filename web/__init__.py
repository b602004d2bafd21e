"""What both web apps (central and node) share: i18n, login, layout, errors, OpenAPI, the chat.

`init_web(app)` binds it all to an app made by either app factory.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from .auth import init_auth
from .chat import init_chat
from .errors import init_errors
from .formats import init_formats
from .i18n import init_i18n
from .labels import init_labels
from .previews import init_previews
from .security import init_security
from .vitals import init_vitals

__all__ = ["init_web", "bp"]

bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/web",
)


def init_web(app: Flask) -> None:
    """Register the shared blueprint, translations, sessions/CSRF and error pages."""
    app.register_blueprint(bp)
    init_i18n(app)
    init_formats(app)
    init_labels(app)
    init_vitals(app)
    init_previews(app)
    init_chat(app)
    init_auth(app)
    init_errors(app)
    init_security(app)
