"""The calls under way, as central sees them: one state machine per call, and the relay between parties.

Central is where both sides meet: the consultant's page is a Socket.IO client of
central ("/"), the kiosk's page reaches central through its node's link ("/node").
A call rings on the callee's side (every page of the consultant open on the
appeal, or every kiosk of the post), becomes active when one of them answers,
and ends once: hung up, declined, unanswered after ``CALL_RING_SECONDS``, or
because a party's connection went away. Until it is active, signals are refused;
afterwards they go only between the two parties that placed and answered it.

Who may call is checked before a call gets here (see `sockets`); this module
checks what the call's state allows. The calls are kept in a `CallBook`: this
process's memory, or Redis when several central instances share it (`book`).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Flask

from domain.models import CallOutcome
from i18n import N_
from web.calls import CallRefused, CallTimes, outcome_for_hangup, record_call_from

from ..live.feed import NODE_NS, STAFF_NS, post_room
from .book import LEASE_SECONDS, CallBook, MemoryCallBook

__all__ = ["Side", "CallState", "Call", "CentralCalls", "call_room", "Emitter"]

log = logging.getLogger(__name__)


def call_room(appeal_id: str) -> str:
    """The consultant's pages that may answer this appeal's calls (namespace "/")."""
    return f"call:{appeal_id}"


class Side(enum.Enum):
    CONSULTANT = "consultant"
    POST = "post"

    @property
    def other(self) -> Side:
        return Side.POST if self is Side.CONSULTANT else Side.CONSULTANT


class CallState(enum.Enum):
    RINGING = "ringing"
    ACTIVE = "active"
    ENDED = "ended"


class Emitter(Protocol):
    def emit(self, event: str, *args: Any, **kwargs: Any) -> Any: ...


@dataclass
class Call:
    """One call about one appeal; the `*_sid`s are the parties' connections once known."""

    appeal_id: str
    post_id: str
    mode: str
    placed_by: Side
    caller_id: str
    caller_name: str
    consultant_id: str
    consultant_sid: str | None = None
    node_sid: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    times: CallTimes = field(default_factory=CallTimes)
    state: CallState = CallState.RINGING

    def sid(self, side: Side) -> str | None:
        return self.consultant_sid if side is Side.CONSULTANT else self.node_sid

    def set_sid(self, side: Side, sid: str) -> None:
        if side is Side.CONSULTANT:
            self.consultant_sid = sid
        else:
            self.node_sid = sid

    def public(self) -> dict[str, Any]:
        return {"call": self.id, "appeal": self.appeal_id, "mode": self.mode}

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "appeal_id": self.appeal_id,
            "post_id": self.post_id,
            "mode": self.mode,
            "placed_by": self.placed_by.value,
            "caller_id": self.caller_id,
            "caller_name": self.caller_name,
            "consultant_id": self.consultant_id,
            "consultant_sid": self.consultant_sid,
            "node_sid": self.node_sid,
            "state": self.state.value,
            "times": self.times.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Call:
        return cls(
            id=data["id"],
            appeal_id=data["appeal_id"],
            post_id=data["post_id"],
            mode=data["mode"],
            placed_by=Side(data["placed_by"]),
            caller_id=data["caller_id"],
            caller_name=data["caller_name"],
            consultant_id=data["consultant_id"],
            consultant_sid=data.get("consultant_sid"),
            node_sid=data.get("node_sid"),
            state=CallState(data["state"]),
            times=CallTimes.from_json(data["times"]),
        )


@dataclass(frozen=True)
class _Out:
    event: str
    data: dict[str, Any]
    to: str
    namespace: str
    skip_sid: str | None = None


class CentralCalls:
    """Every call under way at central (this process, or all instances through Redis); thread-safe."""

    def __init__(
        self,
        app: Flask,
        emitter: Emitter,
        ring_seconds: float,
        on_recorded: Callable[[], None] | None = None,
        book: CallBook | None = None,
    ) -> None:
        self.app = app
        self.emitter = emitter
        self.ring_seconds = ring_seconds
        self.on_recorded = on_recorded
        self.book: CallBook = book or MemoryCallBook()
        # What only this process holds: the ring timers it started, and the calls one of
        # whose parties is connected here (their leases are renewed from here).
        self._timers: dict[str, threading.Timer] = {}
        self._mine: set[str] = set()
        self._local = threading.Lock()
        if not isinstance(self.book, MemoryCallBook):  # memory holds no leases
            threading.Thread(target=self._renew_leases, name="faplink-call-leases", daemon=True).start()

    # -- reading -----------------------------------------------------------------

    def get(self, call_id: str) -> Call | None:
        with self.book.locked():
            return self.book.get(call_id)

    def under_way(self, appeal_id: str) -> Call | None:
        with self.book.locked():
            return next((c for c in self.book.calls() if c.appeal_id == appeal_id), None)

    # -- transitions ---------------------------------------------------------------

    def place(self, call: Call) -> Call:
        """Ring the other side; refused while another call of the appeal is under way."""
        with self.book.locked():
            if any(c.appeal_id == call.appeal_id for c in self.book.calls()):
                raise CallRefused(N_("По этому обращению уже идёт звонок"))
            if self.book.get(call.id) is not None:
                raise CallRefused(N_("Звонок с таким номером уже есть"))
            self.book.put(call)
        timer = threading.Timer(self.ring_seconds, self.expire, args=(call.id,))
        timer.daemon = True
        with self._local:
            self._timers[call.id] = timer
            self._mine.add(call.id)
        timer.start()
        log.info(
            "call %s (%s) placed by the %s about appeal %s",
            call.id,
            call.mode,
            call.placed_by.value,
            call.appeal_id,
        )
        incoming = dict(call.public(), caller=call.caller_name)
        if call.placed_by is Side.CONSULTANT:
            self._send([_Out("call:incoming", incoming, post_room(call.post_id), NODE_NS)])
        else:
            self._send([_Out("call:incoming", incoming, call_room(call.appeal_id), STAFF_NS)])
        return call

    def answer(self, call_id: str, side: Side, sid: str) -> Call:
        """The callee's page takes the call; the caller is told to start the media."""
        with self.book.locked():
            call = self._party_call(call_id, side, sid, ringing=True)
            if side is call.placed_by:
                raise CallRefused(N_("Свой звонок нельзя принять"))
            call.set_sid(side, sid)
            call.state = CallState.ACTIVE
            call.times.answered()
            self.book.put(call)
        self._cancel_timer(call.id)
        with self._local:
            self._mine.add(call.id)
        caller_sid = call.sid(call.placed_by)
        out = [_Out("call:taken", call.public(), *self._callee_room(call), skip_sid=sid)]
        if caller_sid is not None:
            out.append(_Out("call:accepted", call.public(), caller_sid, self._namespace(call.placed_by)))
        self._send(out)
        return call

    def decline(self, call_id: str, side: Side, sid: str) -> Call:
        with self.book.locked():
            call = self._party_call(call_id, side, sid, ringing=True)
            if side is call.placed_by:
                raise CallRefused(N_("Свой звонок нельзя отклонить: завершите его"))
            self._pop(call)
        return self._finish(call, CallOutcome.DECLINED)

    def hangup(self, call_id: str, side: Side, sid: str, *, failed: bool = False) -> Call:
        """«Завершить»; the callee hanging up a ringing call declines it."""
        with self.book.locked():
            call = self._party_call(call_id, side, sid)
            answered = call.state is CallState.ACTIVE
            self._pop(call)
        if failed:
            outcome = CallOutcome.FAILED
        elif not answered and side is not call.placed_by:
            outcome = CallOutcome.DECLINED
        else:
            outcome = outcome_for_hangup(answered, failed)
        return self._finish(call, outcome)

    def signal(self, call_id: str, side: Side, sid: str, data: dict[str, Any]) -> None:
        """Pass an offer, an answer, an ICE candidate or a media notice to the other party."""
        with self.book.locked():
            call = self._party_call(call_id, side, sid)
            if call.state is not CallState.ACTIVE:
                raise CallRefused(N_("Звонок ещё не принят"))
            to = call.sid(side.other)
        if to is not None:
            self._send(
                [_Out("call:signal", {"call": call.id, "data": data}, to, self._namespace(side.other))]
            )

    def expire(self, call_id: str) -> None:
        """Nobody answered in time."""
        with self.book.locked():
            call = self.book.get(call_id)
            if call is None or call.state is not CallState.RINGING:
                self._cancel_timer(call_id)  # answered (perhaps on another instance) or ended
                return
            self._pop(call)
        self._finish(call, CallOutcome.MISSED)

    def dropped(self, sid: str) -> None:
        """A party's connection is gone: its calls end (a talk that took place still counts)."""
        with self.book.locked():
            gone = [c for c in self.book.calls() if sid in (c.consultant_sid, c.node_sid)]
            for call in gone:
                self._pop(call)
        for call in gone:
            outcome = CallOutcome.COMPLETED if call.times.answered_at else CallOutcome.FAILED
            self._finish(call, outcome, detail="connection lost")

    # -- internals -------------------------------------------------------------------

    def _party_call(self, call_id: str, side: Side, sid: str, *, ringing: bool = False) -> Call:
        """The call, if this connection is (or, while it rings, may become) a party to it."""
        call = self.book.get(call_id)
        if call is None:
            raise CallRefused(N_("Звонок уже завершён"))
        if ringing and call.state is not CallState.RINGING:
            raise CallRefused(N_("Звонок уже принят"))
        known = call.sid(side)
        if known is not None and known != sid:
            raise CallRefused(N_("Этот звонок принят на другом рабочем месте"))
        return call

    def _pop(self, call: Call) -> None:
        """Take the call off the book (with its lock held): from here on it is ending."""
        self.book.remove(call.id)
        call.state = CallState.ENDED
        self._cancel_timer(call.id)
        with self._local:
            self._mine.discard(call.id)

    def _cancel_timer(self, call_id: str) -> None:
        with self._local:
            timer = self._timers.pop(call_id, None)
        if timer is not None:
            timer.cancel()

    def _renew_leases(self) -> None:
        """Keep the entries of calls with a party here alive; drop those that ended elsewhere."""
        while True:  # a daemon thread, for as long as the process serves
            time.sleep(LEASE_SECONDS / 3)
            with self._local:
                mine = set(self._mine)
            try:
                alive = self.book.renew(mine)
            except Exception:
                log.exception("could not renew the calls' leases")
                continue
            with self._local:
                self._mine -= mine - alive

    def _finish(self, call: Call, outcome: str, detail: str = "") -> Call:
        """Record a call that was taken off the list, and tell both sides how it ended."""
        duration = call.times.talk_seconds()
        log.info("call %s ended: %s after %s s", call.id, outcome, duration)
        if call.placed_by is Side.CONSULTANT:
            self._record(call, outcome, duration, detail)
        ended = dict(call.public(), outcome=outcome, duration_s=duration, detail=detail)
        self._send(
            [
                _Out("call:ended", ended, call_room(call.appeal_id), STAFF_NS),
                _Out("call:ended", ended, post_room(call.post_id), NODE_NS),
            ]
        )
        return call

    def _record(self, call: Call, outcome: str, duration: int, detail: str) -> None:
        record_call_from(
            self.app, call.id, call.appeal_id, call.caller_id, call.mode, outcome, call.times,
            duration_s=duration, detail=detail, then=self.on_recorded,
        )

    def _callee_room(self, call: Call) -> tuple[str, str]:
        if call.placed_by is Side.CONSULTANT:
            return post_room(call.post_id), NODE_NS
        return call_room(call.appeal_id), STAFF_NS

    @staticmethod
    def _namespace(side: Side) -> str:
        return STAFF_NS if side is Side.CONSULTANT else NODE_NS

    def _send(self, out: list[_Out]) -> None:
        for item in out:
            try:
                self.emitter.emit(
                    item.event, item.data, to=item.to, namespace=item.namespace, skip_sid=item.skip_sid
                )
            except Exception:
                log.exception("could not send %s", item.event)
