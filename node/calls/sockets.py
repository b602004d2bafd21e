"""The kiosk page's call events (this node's Socket.IO, namespace "/"), relayed to central.

Only a feldsher of this post, logged in on the kiosk, about an appeal of this
post that is in work (as far as this node knows; central checks again).
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, request, session
from flask_socketio import join_room

from domain.models import Appeal, AppealStatus, Role, Staff
from i18n import N_
from web.calls import CALL_MODES, CallRefused, answering, data_field

from ..extensions import socketio
from ..live import central_link
from .relay import KioskCalls, Link, call_room

__all__ = ["kiosk_calls", "may_call", "kiosk_feldsher", "MAX_SIGNAL_BYTES"]

MAX_SIGNAL_BYTES = 64 * 1024


def kiosk_calls() -> KioskCalls:
    return current_app.extensions["calls"]  # type: ignore[no-any-return]


def _link() -> Link:
    """The link to central, with the calls' handlers on it (attached on first use)."""
    return kiosk_calls().attach(central_link())


def may_call(appeal: Appeal) -> bool:
    """The post calls about its appeal while it is in work (as far as this node knows)."""
    return appeal.status == AppealStatus.IN_WORK


def kiosk_feldsher() -> Staff | None:
    """The feldsher of this post logged in on this connection's session, if any."""
    staff_id = session.get("staff_id")
    staff = Staff.get_or_none(Staff.id == staff_id) if staff_id else None
    post = current_app.extensions["identity"].organization_id
    if staff is None or not staff.active or staff.deleted or staff.role != Role.FELDSHER:
        return None
    return staff if staff.organization_id == post else None


def _feldsher() -> Staff:
    staff = kiosk_feldsher()
    if staff is None:
        raise CallRefused(N_("Войдите в систему"))
    return staff


def _appeal(appeal_id: str) -> Appeal:
    post = current_app.extensions["identity"].organization_id
    appeal = Appeal.get_or_none(
        (Appeal.id == appeal_id) & (Appeal.post == post) & (Appeal.deleted == False)  # noqa: E712
    )
    if appeal is None:
        raise CallRefused(N_("Обращение не найдено"))
    if not may_call(appeal):
        raise CallRefused(N_("Звонить можно, пока обращение в работе"))
    return appeal



def _sid() -> str:
    return str(request.sid)  # type: ignore[attr-defined]


@socketio.on("call:join")
@answering
def join(data: Any = None) -> dict[str, Any]:
    """Hear this appeal's incoming calls; also says whether the node can reach central now."""
    _feldsher()
    appeal = _appeal(data_field(data, "appeal"))
    join_room(call_room(appeal.id))
    link = central_link()
    if link is not None:
        kiosk_calls().attach(link)
    return {"ok": True, "linked": bool(link is not None and link.connected.is_set())}


@socketio.on("call:place")
@answering
def place(data: Any = None) -> dict[str, Any]:
    feldsher = _feldsher()
    mode = data_field(data, "mode")
    if mode not in CALL_MODES:
        raise CallRefused(N_("Неизвестный вид звонка"))
    appeal = _appeal(data_field(data, "appeal"))
    link = _link()
    join_room(call_room(appeal.id))
    call = kiosk_calls().place(link, feldsher, appeal.id, mode, _sid())
    return {"ok": True, "call": call.id}


@socketio.on("call:answer")
@answering
def answer(data: Any = None) -> dict[str, Any]:
    feldsher = _feldsher()
    link = _link()
    call = kiosk_calls().answer(link, feldsher, data_field(data, "call"), _sid())
    join_room(call_room(call.appeal_id))
    return {"ok": True}


@socketio.on("call:decline")
@answering
def decline(data: Any = None) -> dict[str, Any]:
    kiosk_calls().decline(_link(), _feldsher(), data_field(data, "call"))
    return {"ok": True}


@socketio.on("call:hangup")
@answering
def hangup(data: Any = None) -> dict[str, Any]:
    failed = bool(data.get("failed")) if isinstance(data, dict) else False
    link = central_link()
    kiosk_calls().hangup(link, _feldsher(), data_field(data, "call"), _sid(), failed=failed)
    return {"ok": True}


@socketio.on("call:signal")
@answering
def signal(data: Any = None) -> dict[str, Any]:
    payload = data.get("data") if isinstance(data, dict) else None
    if not isinstance(payload, dict) or len(json.dumps(payload)) > MAX_SIGNAL_BYTES:
        raise CallRefused(N_("Неверный сигнал звонка"))
    kiosk_calls().signal(_link(), _feldsher(), data_field(data, "call"), _sid(), payload)
    return {"ok": True}


@socketio.on("disconnect")
def page_gone(reason: Any = None) -> None:
    """A kiosk page closed or lost its node: its call ends."""
    kiosk_calls().page_gone(central_link(), _sid())
