"""The hub's place in the app: made when the app is built, flushed after every write."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask.sansio.blueprints import BlueprintSetupState

from ..extensions import shared_redis, socketio
from . import bp
from .feed import ChangeFeed
from .presence import LinkedPosts, linked_posts_for

__all__ = ["live_feed", "linked_posts"]


@bp.record_once
def _start(state: BlueprintSetupState) -> None:
    posts = linked_posts_for(shared_redis(state.app))
    state.app.extensions["linked_posts"] = posts
    state.app.extensions["live_feed"] = ChangeFeed(socketio, posts)


@bp.after_app_request
def _announce_changes(response: Response) -> Response:
    """Every write (pages, API, a node's push) is announced as soon as it is committed."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        feed = live_feed()
        if feed is not None:
            feed.flush()
    return response


def live_feed(app: Flask | None = None) -> ChangeFeed | None:
    """The app's change feed (None in an app built without the hub)."""
    return (app or current_app).extensions.get("live_feed")


def linked_posts() -> LinkedPosts:
    """Which posts have a node linked to central right now."""
    return current_app.extensions["linked_posts"]  # type: ignore[no-any-return]
