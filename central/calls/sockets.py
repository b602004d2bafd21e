"""Call signalling at central: the consultant's pages ("/") and the posts' nodes ("/node").

Who may call is decided here, from the database, on every event: the consultant
who took the appeal in work, and the feldshers of the appeal's post (as vouched
for by that post's node, which signed its link). Anything else is refused with
``{"ok": False, "message": …}``; the call's state is then checked by `registry`.

Events from a page or a node: ``call:join`` (pages only), ``call:place``,
``call:answer``, ``call:decline``, ``call:hangup``, ``call:signal``. Events to
them: ``call:incoming``, ``call:accepted``, ``call:taken``, ``call:signal``,
``call:ended``.

Served by Flask-SocketIO or by the realtime gateway alike (`central.live.endpoints`).

A node's messages carry the feldsher's id and the node's own call ids; central
answers it in Russian msgids (the node translates them for its page).
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from flask import current_app

from domain.models import Appeal, AppealStatus, Role, Staff
from i18n import N_
from web.calls import CALL_MODES, CallRefused, answering, data_field

from ..appeals.service import can_see
from ..live import linked_posts
from ..live.endpoints import Connection, on
from ..live.feed import NODE_NS, STAFF_NS, post_room
from ..live.sockets import session_staff
from .registry import Call, CentralCalls, Side, call_room

__all__ = ["calls", "may_call", "MAX_SIGNAL_BYTES"]

log = logging.getLogger(__name__)

#: An SDP with many candidates is a few kilobytes; anything much larger is not a signal.
MAX_SIGNAL_BYTES = 64 * 1024
#: A node numbers the calls its kiosk places (UUIDs), so that it can record them under the same id.
_CALL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def calls() -> CentralCalls:
    return current_app.extensions["calls"]  # type: ignore[no-any-return]


def may_call(staff: Staff | None, appeal: Appeal) -> bool:
    """The consultant who took the appeal, while it is in work."""
    return staff is not None and appeal.status == AppealStatus.IN_WORK and appeal.taken_by_id == staff.id



def _signal_data(data: Any) -> dict[str, Any]:
    payload = data.get("data") if isinstance(data, dict) else None
    if not isinstance(payload, dict) or len(json.dumps(payload)) > MAX_SIGNAL_BYTES:
        raise CallRefused(N_("Неверный сигнал звонка"))
    return payload


# -- the consultant's pages ("/") ----------------------------------------------------------


def _consultant_appeal(appeal_id: str) -> tuple[Staff, Appeal]:
    staff = session_staff()
    if staff is None or not appeal_id or not can_see(staff, appeal_id):
        raise CallRefused(N_("Нет доступа к этому обращению"))
    appeal = Appeal.get_by_id(appeal_id)
    if appeal.status != AppealStatus.IN_WORK:
        raise CallRefused(N_("Звонить можно, пока обращение в работе"))
    if appeal.taken_by_id != staff.id:
        raise CallRefused(N_("Звонить по обращению может консультант, взявший его в работу"))
    return staff, appeal


def _consultant_call(data: Any) -> Call:
    staff = session_staff()
    call = calls().get(data_field(data, "call"))
    if call is None:
        raise CallRefused(N_("Звонок уже завершён"))
    if staff is None or staff.id != call.consultant_id:
        raise CallRefused(N_("Это не ваш звонок"))
    return call


@on("call:join", STAFF_NS)
@answering
def consultant_join(conn: Connection, data: Any = None) -> dict[str, Any]:
    """Hear this appeal's incoming calls: only the consultant who took it in work."""
    appeal_id = data_field(data, "appeal")
    _consultant_appeal(appeal_id)
    conn.join(call_room(appeal_id))
    return {"ok": True}


@on("call:place", STAFF_NS)
@answering
def consultant_place(conn: Connection, data: Any = None) -> dict[str, Any]:
    mode = data_field(data, "mode")
    if mode not in CALL_MODES:
        raise CallRefused(N_("Неизвестный вид звонка"))
    staff, appeal = _consultant_appeal(data_field(data, "appeal"))
    if not linked_posts().linked(appeal.post_id):
        raise CallRefused(N_("Пост сейчас не на связи: напишите в чат"))
    conn.join(call_room(appeal.id))
    call = calls().place(
        Call(
            appeal_id=appeal.id,
            post_id=appeal.post_id,
            mode=mode,
            placed_by=Side.CONSULTANT,
            caller_id=staff.id,
            caller_name=staff.full_name,
            consultant_id=staff.id,
            consultant_sid=conn.sid,
        )
    )
    return {"ok": True, "call": call.id}


@on("call:answer", STAFF_NS)
@answering
def consultant_answer(conn: Connection, data: Any = None) -> dict[str, Any]:
    call = _consultant_call(data)
    _consultant_appeal(call.appeal_id)
    calls().answer(call.id, Side.CONSULTANT, conn.sid)
    return {"ok": True}


@on("call:decline", STAFF_NS)
@answering
def consultant_decline(conn: Connection, data: Any = None) -> dict[str, Any]:
    call = _consultant_call(data)
    calls().decline(call.id, Side.CONSULTANT, conn.sid)
    return {"ok": True}


@on("call:hangup", STAFF_NS)
@answering
def consultant_hangup(conn: Connection, data: Any = None) -> dict[str, Any]:
    call = _consultant_call(data)
    failed = bool(data.get("failed")) if isinstance(data, dict) else False
    calls().hangup(call.id, Side.CONSULTANT, conn.sid, failed=failed)
    return {"ok": True}


@on("call:signal", STAFF_NS)
@answering
def consultant_signal(conn: Connection, data: Any = None) -> dict[str, Any]:
    call = _consultant_call(data)
    calls().signal(call.id, Side.CONSULTANT, conn.sid, _signal_data(data))
    return {"ok": True}


@on("disconnect", STAFF_NS)
def consultant_gone(conn: Connection, reason: Any = None) -> None:
    """A consultant's page closed or lost its connection: its call ends."""
    calls().dropped(conn.sid)


# -- the posts' nodes ("/node") ----------------------------------------------------------


def _linked_post(conn: Connection) -> str | None:
    """The post whose node this connection is (it joined its post's room on connect)."""
    for room in conn.rooms():
        if room.startswith("post:") and room == post_room(room.removeprefix("post:")):
            return room.removeprefix("post:")
    return None


def _node_feldsher(conn: Connection, data: Any) -> tuple[str, Staff]:
    post = _linked_post(conn)
    staff = Staff.get_or_none(Staff.id == data_field(data, "staff"))
    if (
        post is None
        or staff is None
        or staff.deleted
        or not staff.active
        or staff.role != Role.FELDSHER
        or staff.organization_id != post
    ):
        raise CallRefused(N_("Звонить может фельдшер поста, которому адресовано обращение"))
    return post, staff


def _node_call(conn: Connection, data: Any) -> tuple[Call, Staff]:
    post, staff = _node_feldsher(conn, data)
    call = calls().get(data_field(data, "call"))
    if call is None:
        raise CallRefused(N_("Звонок уже завершён"))
    if call.post_id != post:
        raise CallRefused(N_("Это звонок другого поста"))
    return call, staff


def _from_node(
    handler: Callable[[Connection, Any], dict[str, Any]],
) -> Callable[[Connection, Any], dict[str, Any]]:
    """Refusals go back to the node as msgids (the node's page translates them)."""

    @functools.wraps(handler)
    def wrapped(conn: Connection, data: Any = None) -> dict[str, Any]:
        try:
            return handler(conn, data)
        except CallRefused as exc:
            log.info("node %s: call event refused: %s", conn.sid, exc.message)
            return {"ok": False, "message": exc.template, "params": exc.params}

    return wrapped


@on("call:place", NODE_NS)
@_from_node
def node_place(conn: Connection, data: Any = None) -> dict[str, Any]:
    post, staff = _node_feldsher(conn, data)
    mode = data_field(data, "mode")
    if mode not in CALL_MODES:
        raise CallRefused(N_("Неизвестный вид звонка"))
    appeal = Appeal.get_or_none(
        (Appeal.id == data_field(data, "appeal")) & (Appeal.post == post) & (Appeal.deleted == False)  # noqa: E712
    )
    if appeal is None:
        raise CallRefused(N_("Обращение не найдено в центре: дождитесь синхронизации"))
    if appeal.status != AppealStatus.IN_WORK or not appeal.taken_by_id:
        raise CallRefused(N_("Звонить можно, пока обращение в работе"))
    call_id = data_field(data, "call")
    if call_id and not _CALL_ID.fullmatch(call_id):
        raise CallRefused(N_("Неверный номер звонка"))
    call = Call(
        appeal_id=appeal.id,
        post_id=post,
        mode=mode,
        placed_by=Side.POST,
        caller_id=staff.id,
        caller_name=f"{staff.full_name}, {appeal.post.name}",
        consultant_id=appeal.taken_by_id,
        node_sid=conn.sid,
    )
    if call_id:
        call.id = call_id
    calls().place(call)
    return {"ok": True, "call": call.id}


@on("call:answer", NODE_NS)
@_from_node
def node_answer(conn: Connection, data: Any = None) -> dict[str, Any]:
    call, _staff = _node_call(conn, data)
    calls().answer(call.id, Side.POST, conn.sid)
    return {"ok": True}


@on("call:decline", NODE_NS)
@_from_node
def node_decline(conn: Connection, data: Any = None) -> dict[str, Any]:
    call, _staff = _node_call(conn, data)
    calls().decline(call.id, Side.POST, conn.sid)
    return {"ok": True}


@on("call:hangup", NODE_NS)
@_from_node
def node_hangup(conn: Connection, data: Any = None) -> dict[str, Any]:
    call, _staff = _node_call(conn, data)
    failed = bool(data.get("failed")) if isinstance(data, dict) else False
    calls().hangup(call.id, Side.POST, conn.sid, failed=failed)
    return {"ok": True}


@on("call:signal", NODE_NS)
@_from_node
def node_signal(conn: Connection, data: Any = None) -> dict[str, Any]:
    call, _staff = _node_call(conn, data)
    calls().signal(call.id, Side.POST, conn.sid, _signal_data(data))
    return {"ok": True}


def node_gone(sid: str) -> None:
    """A post's link dropped (the hub tells us): the calls it was a party to end."""
    calls().dropped(sid)
