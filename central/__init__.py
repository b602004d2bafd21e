"""central: the consultation centre's service — consultants' web, admin, and the sync API."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, redirect, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

import domain  # noqa: F401  (registers the replicated models with the sync engine)
from i18n import N_
from sync.db import CENTRAL, POOL_SIZE, open_database_url, release_connection
from sync.state import CENTRAL_MIGRATIONS
from web import init_web
from web.features import register_features
from web.settings import env_path, secret_key_for
from web.storage import init_storage

from .extensions import socketio, socketio_options

__all__ = ["create_app"]


def _defaults() -> dict[str, Any]:
    data_dir = env_path("FAPLINK_CENTRAL_DATA", "var/central")
    return {
        "DATA_DIR": data_dir,
        "DATABASE_URL": None,  # default: SQLite in DATA_DIR
        "MESSAGE_QUEUE": None,  # redis://… when several central instances run
        "DB_POOL": POOL_SIZE,  # PostgreSQL connections per instance, shared by its requests
        "PROXY_HOPS": 0,  # reverse proxies in front that set X-Forwarded-For/-Proto/-Host
        # Socket.IO connections are held by the realtime gateway (`central.gateway`): this process
        # only emits to the message queue, and its HTTP requests come through the gateway's proxy.
        "REALTIME_GATEWAY": False,
        "DEADLINE_MINUTES": {},
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        "APP_TITLE": N_("faplink · центр"),
    }


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build central: open and migrate the database, register blueprints and Socket.IO."""
    app = Flask(__name__)
    app.config.update(_defaults())
    app.config.from_prefixed_env("FAPLINK")
    app.config.update(config or {})
    data_dir = Path(app.config["DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{data_dir / 'central.db'}"
    app.config.setdefault("SECRET_KEY", None)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = secret_key_for(data_dir)

    hops = int(app.config["PROXY_HOPS"] or 0)
    if app.config["REALTIME_GATEWAY"]:
        hops += 1  # the gateway adds its own X-Forwarded-* to what the proxies before it said
    if hops:
        # Trust the proxy's word on the client's address (throttling, audit) and on HTTPS
        # (the session cookie is Secure then), but only from that many proxies.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    db = open_database_url(app.config["DATABASE_URL"], pool_size=int(app.config["DB_POOL"]))
    init_storage(app, db, replica_id=CENTRAL, side_migrations=CENTRAL_MIGRATIONS, data_dir=data_dir)

    app.jinja_env.globals.update(app_title=app.config["APP_TITLE"], home_endpoint="appeals.queue")
    init_web(app)

    from . import (
        admin,
        api,
        appeals,
        auth,
        calls,
        chat,
        fhir,
        fleet,
        live,
        patient_booking,
        post_link,
        profile,
        protocols,
        referrals,
        routing,
        schedules,
        settings,
        support,
        sync_api,
        telephony,
    )

    register_features(
        app,
        live,
        # The user menu lists these in this order: the manual's «Профиль», «Расписание», «Настройки»…
        *(auth, appeals, chat, protocols, routing, profile, schedules, settings, referrals, patient_booking),
        *(support, admin, fleet, post_link),
        telephony,
        calls,
        *(api, sync_api, fhir),
    )

    @app.get("/")
    def index() -> Any:
        return redirect(url_for("appeals.queue"))

    # The one SocketIO object outlives an app (tests build many): forget the last one's queue.
    socketio.server_options.pop("client_manager", None)
    socketio.init_app(app, **socketio_options(app.config))
    # The thread that built the app serves no request: its connection goes back to the pool.
    release_connection(db)
    logging.getLogger(__name__).info("central ready, database %s", app.config["DATABASE_URL"])
    return app
