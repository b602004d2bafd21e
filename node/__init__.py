"""node: the post's local service on 127.0.0.1 — feldsher pages, JSON API, sync worker."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, redirect, url_for

import domain  # noqa: F401  (registers the replicated models with the sync engine)
from i18n import N_
from sync.state import NODE_MIGRATIONS
from web import init_web
from web.features import register_features
from web.settings import env_path, secret_key_for
from web.storage import init_storage

from .datadir import check_before_open, keep_mark, open_post_database
from .datakey import DataKey, find_data_key, may_start_afresh, start_afresh
from .extensions import socketio
from .identity import NodeIdentity
from .keyring import keep_keyring, keep_recovery_copy
from .locked import lock
from .nodekey import seal_in_place
from .syncing import start_sync

__all__ = ["create_app", "open_node"]


def _defaults() -> dict[str, Any]:
    return {
        "DATA_DIR": env_path("FAPLINK_NODE_DATA", "var/node"),
        "SYNC_ENABLED": True,
        "SYNC_INTERVAL": 15.0,
        # While the live link to central is up, central's changes and the feldsher's own
        # writes start a round at once: the timer only catches what neither did.
        "SYNC_SAFETY_INTERVAL": 300.0,
        "DEADLINE_MINUTES": {},
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        "APP_TITLE": N_("faplink · ФАП"),
        "SESSION_MINUTES": 30,
    }


def _configured(config: dict[str, Any] | None) -> Flask:
    """The app with its settings and identity, before any of the post's data is opened."""
    app = Flask(__name__)
    app.config.update(_defaults())
    app.config.from_prefixed_env("FAPLINK")
    app.config.update(config or {})
    data_dir = Path(app.config["DATA_DIR"])
    identity = NodeIdentity.load(data_dir)
    app.extensions["identity"] = identity
    app.config.setdefault("SECRET_KEY", None)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = secret_key_for(data_dir)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=app.config["SESSION_MINUTES"])
    return app


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the node: its identity (node.json + key), database, blueprints, sync worker.

    The post's data is encrypted (node/datakey.py): with its key at hand (the TPM's
    credential; DATA_KEY or FAPLINK_DATA_KEY_FILE in tests and the demo) the node opens at
    once; otherwise it shows the login page only until a feldsher's login opens the key.

    A damaged node.json, a missing or damaged node.key, a missing, empty, damaged or
    incomplete database raise a NodeError (node/errors.py) saying what to do: the node
    never builds an empty database over a post's records (node/datadir.py)."""
    app = _configured(config)
    data_dir = Path(app.config["DATA_DIR"])
    check_before_open(data_dir)
    key = find_data_key(data_dir, app.config.get("DATA_KEY"))
    if key is None and may_start_afresh(data_dir):
        key = start_afresh(data_dir, app.extensions["identity"].node_id)
    if key is None:
        return lock(app, lambda found: open_node(_configured(config), found))
    return open_node(app, key)


def open_node(app: Flask, key: DataKey) -> Flask:
    """Open the post's data with `key` (converting a plain post in place) and build the rest."""
    data_dir = Path(app.config["DATA_DIR"])
    identity: NodeIdentity = app.extensions["identity"]
    app.extensions["data_key"] = key
    identity.data_key = key
    db = open_post_database(data_dir / "node.db", key)
    seal_in_place(identity.key_path, key)
    identity.key()  # a node.key this data key does not open is said now, not at the first sync
    init_storage(
        app,
        db,
        replica_id=identity.node_id,
        side_migrations=NODE_MIGRATIONS,
        data_dir=data_dir,
        blob_key=key.blob_key,
    )
    keep_mark(db, data_dir / "node.db")
    app.extensions["blobs"].seal_existing()
    keep_recovery_copy(data_dir, key, identity.node_id)

    # The kiosk's own look (node/static/kiosk.css): a touch screen, not a mouse.
    app.jinja_env.globals.update(
        app_title=app.config["APP_TITLE"],
        home_endpoint="appeals.queue",
        app_stylesheet="kiosk.css",
        app_body_class="kiosk",
    )
    init_web(app)

    from . import (
        api,
        appeals,
        auth,
        calls,
        chat,
        exams,
        link_monitor,
        live,
        patients,
        referrals,
        settings,
        signed_protocol,
        support,
        sync_ui,
    )

    register_features(
        app,
        live,
        *(auth, patients, exams, appeals, chat, signed_protocol, referrals, settings, support, sync_ui, api),
        link_monitor,
        calls,
    )

    @app.get("/")
    def index() -> Any:
        return redirect(url_for("appeals.queue"))

    socketio.init_app(app, async_mode="threading", cors_allowed_origins=[])
    start_sync(app, identity)
    live.link_to_central(app, identity)
    keep_keyring(app)
    link_monitor.start_link_monitor(app, identity)
    logging.getLogger(__name__).info("node %s ready in %s", identity.node_id, data_dir)
    return app
