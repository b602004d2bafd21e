"""The hub's place in the node's app: the feed made with the app and flushed after every
write; a round of the sync started at once by a request that wrote replicated rows (an
appeal, an emergency above all, reaches central without waiting for the timer); the link
to central started with the sync."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, g, request
from flask.sansio.blueprints import BlueprintSetupState

from sync.changes import latest_seq, wrote_between
from sync.client import SyncState, SyncStatus
from sync.db import replica

from ..extensions import socketio
from ..identity import NodeIdentity
from . import bp
from .feed import NodeFeed, on_sync_status
from .link import CentralLink

__all__ = ["link_to_central", "live_feed", "central_link"]

log = logging.getLogger(__name__)

#: Requests that write nothing: no flush, no round.
READING = ("GET", "HEAD", "OPTIONS")


@bp.record_once
def _start_feed(state: BlueprintSetupState) -> None:
    state.app.extensions["live_feed"] = NodeFeed(socketio)


@bp.before_app_request
def _note_change_number() -> None:
    if request.method not in READING:
        try:
            g.changes_before = latest_seq()
        except Exception:  # the request says what is wrong with the database, not this hook
            log.debug("could not read the change number", exc_info=True)


@bp.after_app_request
def _announce_changes(response: Response) -> Response:
    if request.method not in READING:
        feed = live_feed()
        if feed is not None:
            feed.flush()
        _sync_what_was_written()
    return response


def _sync_what_was_written() -> None:
    """If this request wrote replicated rows, start a round now rather than at the next timer."""
    before = g.pop("changes_before", None)
    worker = current_app.extensions.get("sync_worker")
    if before is None or worker is None:
        return
    try:
        upto = latest_seq()
        if upto > before and wrote_between(before, upto, replica().id):
            worker.trigger()
    except Exception:  # a round still comes on the timer
        log.exception("could not tell the sync of a write")


def link_to_central(app: Flask, identity: NodeIdentity) -> None:
    """Announce each sync round to the kiosk; while syncing runs, listen to central for changes."""
    feed: NodeFeed = app.extensions["live_feed"]
    client = app.extensions["sync_client"]
    client.listeners.append(on_sync_status(feed, socketio))
    if app.config["SYNC_ENABLED"] and app.config.get("CENTRAL_LINK", True):
        worker = app.extensions["sync_worker"]
        link = CentralLink(app.extensions["central_session"], worker.trigger)
        app.extensions["central_link"] = link
        worker.linked = link.connected.is_set  # while central pushes, the timer is a safety net
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
