"""Video and audio calls of an appeal in work, between the consultant's browser and the post's kiosk.

WebRTC between the two pages; signalling over central's Socket.IO (see `sockets`),
the kiosk's side relayed by its node; the calls under way in `registry`. The
appeal page shows the call buttons, the call panel and «Звонки» (the call log).
"""

from flask import Blueprint

bp = Blueprint("calls", __name__, template_folder="../templates")

from . import routes, sockets  # noqa: E402,F401
