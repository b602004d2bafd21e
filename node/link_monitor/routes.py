from __future__ import annotations

from typing import Any

from flask import current_app, flash, jsonify, redirect, url_for
from flask_babel import gettext as _

from web.auth import login_required

from ..auth.routes import NODE_ROLES
from ..sync_ui.truth import post_state
from . import bp
from .measure import MODE_LABELS, NEEDS, LinkQuality, offered_mode
from .monitor import LinkMonitor


def link_monitor() -> LinkMonitor:
    monitor: LinkMonitor = current_app.extensions["link_monitor"]
    return monitor


def _link_json(monitor: LinkMonitor) -> dict[str, Any]:
    q: LinkQuality | None = monitor.latest
    empty = {"rtt_ms": None, "down_kbps": None, "up_kbps": None, "loss_pct": None, "measured_at": None}
    age = monitor.age_s()
    # With no link at all (the last round could not reach central) nothing but a deferred
    # consultation will work, whatever the last measurement said.
    online = post_state().online
    return {
        **(q.as_dict() if q is not None else {**empty, "error": None}),
        "mode": offered_mode(q) if online else "deferred",
        "measuring": monitor.measuring,
        "stale": age is None or age > 3 * monitor.interval,
        "online": online,
    }


@bp.app_context_processor
def link_state() -> dict[str, Any]:
    def current_link() -> dict[str, Any] | None:
        monitor = current_app.extensions.get("link_monitor")
        if monitor is None:
            return None
        return {**_link_json(monitor), "measured": monitor.latest.measured_at if monitor.latest else None}

    return {"current_link": current_link, "link_mode_labels": MODE_LABELS, "link_needs": NEEDS}


@bp.get("/api/v1/link")
@login_required(*NODE_ROLES)
def current() -> Any:
    """The link to central and the mode it sustains.
    ---
    get:
      summary: The latest measurement of the link to central and the consultation mode it offers
      description: >
        mode is video, audio, chat or deferred (store-and-forward); deferred also when the
        link was never measured. stale is true when the measurement is older than three
        measuring intervals.
      responses:
        200:
          description: >
            {rtt_ms, down_kbps, up_kbps, loss_pct, measured_at, error, mode, measuring, stale}
    """
    return jsonify(_link_json(link_monitor()))


@bp.post("/api/v1/link/measure")
@login_required(*NODE_ROLES)
def measure() -> Any:
    """Measure the link now.
    ---
    post:
      summary: Measure the link to central now (takes a few seconds) and answer with the result
      responses:
        200: {description: "as GET /api/v1/link"}
    """
    monitor = link_monitor()
    monitor.measure_now()
    return jsonify(_link_json(monitor))


@bp.post("/link/check")
@login_required(*NODE_ROLES)
def check() -> Any:
    """«Проверить связь» on the sync page: measure in the background, back to the page."""
    link_monitor().wake()
    flash(_("Проверка связи запущена: результат появится через несколько секунд"), "success")
    return redirect(url_for("sync_ui.status"))
