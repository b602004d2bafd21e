"""The kiosk's calls, relayed between its pages and central over the node's link.

The kiosk's page talks to this node only. The node forwards what the page does
(place, answer, decline, hang up, signal) to central on its signed link, and
what central says (incoming, accepted, taken, signal, ended) to the page that is
a party to the call, or, while a call rings, to every kiosk page open on the
appeal. Central keeps each call's state; the node keeps just enough to route,
and to record the calls its kiosk placed (their `CallLog` row is written here
and reaches central with the next sync).
"""

from __future__ import annotations

import enum
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Flask

from domain.models import CallOutcome, Staff
from i18n import N_
from web.calls import CallRefused, CallTimes, record_call_from

__all__ = ["KioskCall", "KioskCalls", "Link", "call_room"]

log = logging.getLogger(__name__)

#: What central's link delivers to `KioskCalls.from_central`.
CENTRAL_EVENTS = ("call:incoming", "call:accepted", "call:taken", "call:signal", "call:ended")


def call_room(appeal_id: str) -> str:
    """The kiosk pages open on this appeal (the node's namespace "/")."""
    return f"call:{appeal_id}"


class Link(Protocol):
    """The node's link to central (node.live.link.CentralLink)."""

    def on(self, event: str, handler: Callable[[Any], Any]) -> None: ...
    def on_drop(self, listener: Callable[[], None]) -> None: ...
    def emit(self, event: str, data: Any) -> bool: ...
    def call(self, event: str, data: Any, timeout: float = 10.0) -> Any | None: ...


class Emitter(Protocol):
    def emit(self, event: str, *args: Any, **kwargs: Any) -> Any: ...


class KioskCallState(enum.Enum):
    RINGING = "ringing"
    ACTIVE = "active"


@dataclass
class KioskCall:
    id: str
    appeal_id: str
    mode: str
    placed_here: bool
    caller_id: str
    page_sid: str | None = None
    feldsher_id: str | None = None  # whoever placed or answered it here
    times: CallTimes = field(default_factory=CallTimes)
    state: KioskCallState = KioskCallState.RINGING

    def public(self) -> dict[str, Any]:
        return {"call": self.id, "appeal": self.appeal_id, "mode": self.mode}


class KioskCalls:
    """The calls this node's kiosk takes part in; thread-safe."""

    def __init__(self, app: Flask, pages: Emitter, on_recorded: Callable[[], None] | None = None) -> None:
        self.app = app
        self.pages = pages
        self.on_recorded = on_recorded
        self._calls: dict[str, KioskCall] = {}
        self._lock = threading.Lock()
        self._link: Link | None = None

    # -- the link -----------------------------------------------------------------------

    def attach(self, link: Link | None) -> Link:
        """Hear central's call events on `link` (once); refused if the node has no link."""
        if link is None:
            raise CallRefused(N_("Нет связи с центром: позвонить сейчас нельзя, напишите в чат"))
        with self._lock:
            if self._link is link:
                return link
            self._link = link
        for event in CENTRAL_EVENTS:
            link.on(event, self._handler(event))
        link.on_drop(self.link_dropped)
        return link

    def _handler(self, event: str) -> Callable[[Any], None]:
        def handle(data: Any = None) -> None:
            try:
                self.from_central(event, data if isinstance(data, dict) else {})
            except Exception:
                log.exception("could not relay %s to the kiosk", event)

        return handle

    def _reply(self, reply: Any) -> None:
        """Central's answer to an event we sent: a refusal is raised for the page."""
        if reply is None:
            raise CallRefused(N_("Центр не ответил: попробуйте ещё раз или напишите в чат"))
        if not isinstance(reply, dict) or not reply.get("ok"):
            message = str(reply.get("message") or "") if isinstance(reply, dict) else ""
            params = reply.get("params") if isinstance(reply, dict) else None
            raise CallRefused(message or N_("Центр отклонил звонок"), **(params or {}))

    # -- from the kiosk's pages ----------------------------------------------------------

    def place(self, link: Link, feldsher: Staff, appeal_id: str, mode: str, sid: str) -> KioskCall:
        call = KioskCall(
            str(uuid.uuid4()),
            appeal_id,
            mode,
            placed_here=True,
            caller_id=feldsher.id,
            page_sid=sid,
            feldsher_id=feldsher.id,
        )
        with self._lock:
            if any(c.appeal_id == appeal_id for c in self._calls.values()):
                raise CallRefused(N_("По этому обращению уже идёт звонок"))
            self._calls[call.id] = call
        try:
            self._reply(
                link.call(
                    "call:place", {"call": call.id, "appeal": appeal_id, "mode": mode, "staff": feldsher.id}
                )
            )
        except CallRefused:
            with self._lock:
                self._calls.pop(call.id, None)
            raise
        return call

    def answer(self, link: Link, feldsher: Staff, call_id: str, sid: str) -> KioskCall:
        with self._lock:
            call = self._calls.get(call_id)
            if call is None:
                raise CallRefused(N_("Звонок уже завершён"))
            if call.placed_here or call.state is not KioskCallState.RINGING or call.page_sid is not None:
                raise CallRefused(N_("Звонок уже принят"))
            call.page_sid = sid
            call.feldsher_id = feldsher.id
        try:
            self._reply(link.call("call:answer", {"call": call_id, "staff": feldsher.id}))
        except CallRefused:
            with self._lock:
                call.page_sid = None
            raise
        with self._lock:
            call.state = KioskCallState.ACTIVE
            call.times.answered()
        self.pages.emit("call:taken", call.public(), to=call_room(call.appeal_id), skip_sid=sid)
        return call

    def decline(self, link: Link, feldsher: Staff, call_id: str) -> None:
        with self._lock:
            call = self._calls.get(call_id)
            if call is None:
                raise CallRefused(N_("Звонок уже завершён"))
            if call.placed_here or call.state is not KioskCallState.RINGING:
                raise CallRefused(N_("Отклонить можно только входящий звонок"))
        self._reply(link.call("call:decline", {"call": call_id, "staff": feldsher.id}))

    def hangup(self, link: Link | None, feldsher: Staff, call_id: str, sid: str, *, failed: bool) -> None:
        self._party(call_id, sid, may_ring=True)
        data = {"call": call_id, "staff": feldsher.id, "failed": failed}
        if link is None or not link.emit("call:hangup", data):
            self._end_here(call_id, CallOutcome.FAILED if failed else None, "link down")

    def signal(self, link: Link, feldsher: Staff, call_id: str, sid: str, data: dict[str, Any]) -> None:
        call = self._party(call_id, sid)
        if call.state is not KioskCallState.ACTIVE:
            raise CallRefused(N_("Звонок ещё не принят"))
        if not link.emit("call:signal", {"call": call_id, "staff": feldsher.id, "data": data}):
            raise CallRefused(N_("Нет связи с центром"))

    def page_gone(self, link: Link | None, sid: str) -> None:
        """A kiosk page closed: the call it was a party to ends."""
        with self._lock:
            gone = [c for c in self._calls.values() if c.page_sid == sid]
        for call in gone:
            if link is None or not link.emit("call:hangup", {"call": call.id, "staff": call.feldsher_id}):
                self._end_here(call.id, None, "page closed")

    def _party(self, call_id: str, sid: str, *, may_ring: bool = False) -> KioskCall:
        with self._lock:
            call = self._calls.get(call_id)
        if call is None:
            raise CallRefused(N_("Звонок уже завершён"))
        if call.page_sid != sid and not (may_ring and call.page_sid is None):
            raise CallRefused(N_("Этот звонок принят на другом рабочем месте"))
        return call

    # -- from central ---------------------------------------------------------------------

    def from_central(self, event: str, data: dict[str, Any]) -> None:
        call_id = str(data.get("call", ""))
        with self._lock:
            call = self._calls.get(call_id)
        if event == "call:incoming":
            if call is None:
                call = KioskCall(call_id, str(data.get("appeal", "")), str(data.get("mode", "")), False, "")
                with self._lock:
                    self._calls[call_id] = call
            self.pages.emit(
                "call:incoming",
                dict(call.public(), caller=data.get("caller", "")),
                to=call_room(call.appeal_id),
            )
        elif call is None:
            return
        elif event == "call:accepted" and call.placed_here:
            with self._lock:
                call.state = KioskCallState.ACTIVE
                call.times.answered()
            self.pages.emit("call:accepted", call.public(), to=call.page_sid)
        elif event == "call:signal" and call.page_sid:
            self.pages.emit("call:signal", {"call": call.id, "data": data.get("data")}, to=call.page_sid)
        elif event == "call:taken":
            # another kiosk of this post answered
            with self._lock:
                self._calls.pop(call.id, None)
            self.pages.emit("call:taken", call.public(), to=call_room(call.appeal_id))
        elif event == "call:ended":
            outcome = str(data.get("outcome", CallOutcome.FAILED))
            duration = data.get("duration_s")
            self._end_here(
                call.id,
                outcome if outcome in CallOutcome.ALL else CallOutcome.FAILED,
                str(data.get("detail", "")),
                duration_s=duration if isinstance(duration, int) else None,
            )

    def link_dropped(self) -> None:
        """The link to central went down: every call ends here (central ends its side too)."""
        with self._lock:
            ids = list(self._calls)
        for call_id in ids:
            self._end_here(call_id, None, "link to central lost")

    def _end_here(
        self, call_id: str, outcome: str | None, detail: str, *, duration_s: int | None = None
    ) -> None:
        """Forget the call, record it if it was placed here, tell the kiosk's pages."""
        with self._lock:
            call = self._calls.pop(call_id, None)
        if call is None:
            return
        if outcome is None:
            outcome = CallOutcome.COMPLETED if call.times.answered_at else CallOutcome.FAILED
        if call.placed_here:
            self._record(call, outcome, detail, duration_s)
        ended = dict(call.public(), outcome=outcome, detail=detail)
        self.pages.emit("call:ended", ended, to=call_room(call.appeal_id))

    def _record(self, call: KioskCall, outcome: str, detail: str, duration_s: int | None) -> None:
        record_call_from(
            self.app, call.id, call.appeal_id, call.caller_id, call.mode, outcome, call.times,
            duration_s=duration_s, detail=detail, then=self.on_recorded,
        )
