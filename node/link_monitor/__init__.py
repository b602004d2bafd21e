"""The post's link to central: measured in the background (`LinkMonitor`), shown on
«Синхронизация», and read by the call UI at GET /api/v1/link."""

from __future__ import annotations

from flask import Blueprint, Flask

from ..identity import NodeIdentity
from ..syncing import central_session
from .monitor import LinkMonitor

__all__ = ["bp", "LinkMonitor", "start_link_monitor", "link_monitor"]

bp: Blueprint = Blueprint("linkcheck", __name__, template_folder="../templates")


def start_link_monitor(app: Flask, identity: NodeIdentity) -> LinkMonitor:
    """Create the monitor (after the sync client, so it can listen to its rounds); start it
    if LINK_CHECK_ENABLED (default: when the sync worker runs). Measuring on demand works
    either way."""
    monitor = LinkMonitor(
        identity,
        interval=float(app.config.get("LINK_CHECK_INTERVAL", 900.0)),
        budget_s=float(app.config.get("LINK_CHECK_BUDGET", 6.0)),
        first_delay=float(app.config.get("LINK_CHECK_FIRST_DELAY", 60.0)),
        client=app.extensions.get("sync_client"),
        session=lambda: central_session(app, identity),
    )
    app.extensions["link_monitor"] = monitor
    enabled = app.config.get("LINK_CHECK_ENABLED", app.config.get("SYNC_ENABLED", True))
    if enabled and str(enabled).lower() not in ("0", "false", "no"):
        monitor.start()
    return monitor


from .routes import link_monitor  # noqa: E402
