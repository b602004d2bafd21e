"""Video and audio calls of an appeal in work, from the kiosk: relayed to central by this node.

The kiosk's page talks to this node only; the node carries the call's signalling
over its signed link to central (see `relay`), records the calls its kiosk
placed, and shows «Звонки» (the appeal's call log, the centre's calls arriving
with the sync).
"""

from flask import Blueprint

bp = Blueprint("calls", __name__, template_folder="../templates")

from . import routes, sockets  # noqa: E402,F401
