from __future__ import annotations

from typing import Any, cast

from flask import Flask, current_app, jsonify, render_template
from flask.sansio.blueprints import BlueprintSetupState

from web.auth import login_required
from web.calls import call_log, call_log_json, init_calls, register_call_globals

from ..appeals.service import post_appeal
from ..auth.routes import NODE_ROLES
from ..extensions import socketio
from ..live import live_feed
from . import bp
from .relay import KioskCalls
from .sockets import may_call


@bp.record_once
def _start(state: BlueprintSetupState) -> None:
    app = cast(Flask, state.app)
    init_calls(app)

    def recorded() -> None:
        """A call placed here was recorded: show it on the kiosk, send it to the centre soon."""
        feed = live_feed(app)
        if feed is not None:
            feed.flush()
        worker = app.extensions.get("sync_worker")
        if worker is not None:
            worker.trigger()

    app.extensions["calls"] = KioskCalls(app, socketio, recorded)


# -- what the appeal page shows ---------------------------------------------------------


register_call_globals(bp, may_call, "calls.log_fragment")


@bp.get("/appeals/<appeal_id>/calls")
@login_required(*NODE_ROLES)
def log_fragment(appeal_id: str) -> Any:
    """«Звонки» alone, for the page to reload after a call or a sync."""
    return render_template("web/_call_log_rows.html", calls=call_log(post_appeal(appeal_id)))


@bp.get("/api/v1/appeals/<appeal_id>/calls")
@login_required(*NODE_ROLES)
def api_calls(appeal_id: str) -> Any:
    """The appeal's calls.
    ---
    get:
      summary: "Calls of an appeal of this post, latest first (the centre's arrive with the sync)"
      responses:
        200: {description: "calls (caller, mode, started_at, ended_at, duration_s, outcome)"}
        404: {description: not an appeal of this post}
    """
    appeal = post_appeal(appeal_id)
    return jsonify(
        calls=[call_log_json(row) for row in call_log(appeal)],
        may_call=may_call(appeal),
        ice_servers=current_app.config["ICE_SERVERS"],
    )
