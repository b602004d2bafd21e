"""Central's Socket.IO endpoints: consultants' browsers ("/") and the posts' nodes ("/node").

Served by Flask-SocketIO or by the realtime gateway alike (`endpoints`).

A browser is known by its Flask session (anonymous connections are refused);
it joins its own rooms on connect and an appeal's room only if it may open
that appeal. A node proves who it is with the same Ed25519 signed headers as
its sync requests, on the connection's HTTP handshake, and joins its post's room;
when its link drops, the features that asked (`when_link_drops`) hear of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, session
from flask_babel import gettext as _

from central.appeals.service import can_see
from central.sync_api.nodes import seen_nonces
from domain.models import Appeal, Role, Staff
from sync import server
from web.errors import USER_ERRORS

from .endpoints import Connection, on
from .feed import ADMINS, NODE_NS, STAFF_NS, appeal_room, post_room, specialty_room, staff_room
from .hooks import linked_posts

__all__ = ["session_staff", "LINK_PATH", "when_link_drops"]

log = logging.getLogger(__name__)

#: The path a node signs for its Socket.IO handshake (no body, GET).
LINK_PATH = "/socket.io/"

_READERS = (Role.CONSULTANT, Role.ADMIN)


def session_staff() -> Staff | None:
    """The active consultant or administrator of this connection's session, if any."""
    staff_id = session.get("staff_id")
    if not staff_id:
        return None
    staff = Staff.get_or_none(Staff.id == staff_id)
    if staff is None or not staff.active or staff.deleted or staff.role not in _READERS:
        return None
    return staff


@on("connect", STAFF_NS)
def staff_connect(conn: Connection, auth: Any = None) -> None:
    staff = session_staff()
    if staff is None:
        raise ConnectionRefusedError("unauthorized")
    conn.join(staff_room(staff.id))
    if staff.role == Role.ADMIN:
        conn.join(ADMINS)
    elif staff.specialty_id:
        conn.join(specialty_room(staff.specialty_id))


@on("join", STAFF_NS)
def join_appeal(conn: Connection, data: Any = None) -> dict[str, Any]:
    """Follow one appeal (its status and chat); only an appeal this consultant may open."""
    staff = session_staff()
    appeal_id = str(data.get("appeal", "")) if isinstance(data, dict) else ""
    if staff is None or not appeal_id or not can_see(staff, appeal_id):
        return {"ok": False, "message": _("Нет доступа к этому обращению")}
    conn.join(appeal_room(appeal_id))
    # Its status now: the page compares it with the one it was drawn with, so a change made
    # between the page and the socket's join (missed by both) still brings the fresh page.
    return {"ok": True, "status": Appeal.select(Appeal.status).where(Appeal.id == appeal_id).scalar()}


def when_link_drops(app: Flask, listener: Callable[[str], None]) -> None:
    """Call `listener(sid)` (in the request context of the disconnect) when a post's link drops."""
    app.extensions.setdefault("live_link_drops", []).append(listener)


@on("connect", NODE_NS)
def node_connect(conn: Connection, auth: Any = None) -> None:
    try:
        node = server.authenticate("GET", LINK_PATH, b"", dict(conn.headers), seen_nonces())
    except USER_ERRORS as exc:
        log.info("node link refused: %s", exc.message)
        raise ConnectionRefusedError(exc.code) from exc
    conn.join(post_room(node.organization_id))
    linked_posts().link(node.organization_id, conn.sid)
    log.info("node %s linked for live changes", node.node_id)


@on("disconnect", NODE_NS)
def node_gone(conn: Connection, reason: Any = None) -> None:
    """A post's link dropped: it is no longer linked, and the features listening hear of it."""
    sid = conn.sid
    linked_posts().unlink(sid)
    for listener in current_app.extensions.get("live_link_drops", []):
        try:
            listener(sid)
        except Exception:
            log.exception("a link-drop listener failed")
