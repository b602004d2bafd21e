"""The hub's place in the node's app: the feed made with the app and flushed after every
write; the link to central started with the sync."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, current_app, request
from flask.sansio.blueprints import BlueprintSetupState

from sync.client import SyncState, SyncStatus

from ..extensions import socketio
from ..identity import NodeIdentity
from . import bp
from .feed import NodeFeed, on_sync_status
from .link import CentralLink

__all__ = ["link_to_central", "live_feed", "central_link"]


@bp.record_once
def _start_feed(state: BlueprintSetupState) -> None:
    state.app.extensions["live_feed"] = NodeFeed(socketio)


@bp.after_app_request
def _announce_changes(response: Response) -> Response:
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        feed = live_feed()
        if feed is not None:
            feed.flush()
    return response


def link_to_central(app: Flask, identity: NodeIdentity) -> None:
    """Announce each sync round to the kiosk; while syncing runs, listen to central for changes."""
    feed: NodeFeed = app.extensions["live_feed"]
    client = app.extensions["sync_client"]
    client.listeners.append(on_sync_status(feed, socketio))
    if app.config["SYNC_ENABLED"] and app.config.get("CENTRAL_LINK", True):
        link = CentralLink(app.extensions["central_session"], app.extensions["sync_worker"].trigger)
        app.extensions["central_link"] = link
        client.listeners.append(_reach_again(link))
        link.start()


def _reach_again(link: CentralLink) -> Callable[[SyncStatus], None]:
    """A round that reached central says the link is back: the live link follows at once."""

    def listener(status: SyncStatus) -> None:
        if status.state == SyncState.IDLE.value:
            link.retry_now()

    return listener


def live_feed(app: Flask | None = None) -> NodeFeed | None:
    """The app's feed to the kiosk's pages (None in an app built without the hub)."""
    return (app or current_app).extensions.get("live_feed")


def central_link(app: Flask | None = None) -> CentralLink | None:
    """The node's live link to central, if the sync runs."""
    return (app or current_app).extensions.get("central_link")
