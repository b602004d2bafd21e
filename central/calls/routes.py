from __future__ import annotations

import logging
import threading
from typing import Any, cast

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask.sansio.blueprints import BlueprintSetupState

from domain.models import CallLog, Role
from sync.changes import latest_seq
from web.auth import login_required
from web.calls import call_log, call_log_json, init_calls, register_call_globals

from ..appeals.service import visible_appeal
from ..extensions import shared_redis, socketio
from ..live import live_feed
from ..live.feed import appeal_room
from ..live.sockets import when_link_drops
from . import bp
from .book import call_book_for
from .registry import CentralCalls
from .sockets import may_call, node_gone

CONSULTANT = (Role.CONSULTANT, Role.ADMIN)

log = logging.getLogger(__name__)


class CallFeed:
    """Tells an appeal's pages that its call log changed (a post's call arrives with its push)."""

    def __init__(self) -> None:
        self.seen = latest_seq()
        self._lock = threading.Lock()

    def flush(self) -> None:
        try:
            with self._lock:
                upto = latest_seq()
                if upto <= self.seen:
                    return
                rows = CallLog.select(CallLog.appeal).where((CallLog.seq > self.seen) & (CallLog.seq <= upto))
                appeals = sorted({row.appeal_id for row in rows})
                self.seen = upto
            for appeal_id in appeals:
                socketio.emit("calls", {"appeal": appeal_id}, to=appeal_room(appeal_id))
        except Exception:
            log.exception("could not announce call logs")


@bp.record_once
def _start(state: BlueprintSetupState) -> None:
    app = cast(Flask, state.app)
    init_calls(app)
    feed = CallFeed()
    app.extensions["call_feed"] = feed

    def recorded() -> None:
        feed.flush()
        changes = live_feed(app)  # tells the post to sync now
        if changes is not None:
            changes.flush()

    app.extensions["calls"] = CentralCalls(
        app,
        socketio,
        app.config["CALL_RING_SECONDS"],
        recorded,
        book=call_book_for(shared_redis(app)),
    )
    when_link_drops(app, node_gone)


@bp.after_app_request
def _announce_call_logs(response: Response) -> Response:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        feed: CallFeed | None = current_app.extensions.get("call_feed")
        if feed is not None:
            feed.flush()
    return response


# -- what the appeal page shows ---------------------------------------------------------


register_call_globals(bp, lambda appeal: may_call(g.get("staff"), appeal), "calls.log_fragment")


@bp.get("/appeals/<appeal_id>/calls")
@login_required(*CONSULTANT)
def log_fragment(appeal_id: str) -> Any:
    """«Звонки» alone, for the page to reload after a call."""
    appeal = visible_appeal(g.staff, appeal_id)
    return render_template("web/_call_log_rows.html", calls=call_log(appeal))


@bp.get("/api/v1/appeals/<appeal_id>/calls")
@login_required(*CONSULTANT)
def api_calls(appeal_id: str) -> Any:
    """The appeal's calls.
    ---
    get:
      summary: "Calls of an appeal, latest first; whether this consultant may call; the ICE servers"
      responses:
        200: {description: "calls (caller, mode, started_at, ended_at, duration_s, outcome)"}
        404: {description: not found or not visible to this consultant}
    """
    appeal = visible_appeal(g.staff, appeal_id)
    return jsonify(
        calls=[call_log_json(row) for row in call_log(appeal)],
        may_call=may_call(g.staff, appeal),
        ice_servers=current_app.config["ICE_SERVERS"],
    )
