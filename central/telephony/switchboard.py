"""This process's side of the phone calls: the calls it holds, and every other call through the book.

A process that places a call holds it: the call's SIP dialog runs in a thread of
its own here, and every change of the call is written to the `book` for the
other processes (web workers, instances) to read. Asked to hang up a call it
does not hold, a process asks the holder through the book and waits for the
call to end there. A call whose holder has died is ended by the first process
that reads it, with a message that says what happened, and logged.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from domain.models import CallOutcome
from i18n import N_
from sync.clock import utcnow

from .book import ActiveCall, PhoneBook
from .gateway import CallState, PhoneCall, TelephonyError, TelephonyGateway

__all__ = ["Switchboard", "HOLDER_LOST"]

log = logging.getLogger(__name__)

HOLDER_LOST = N_(
    "Центр потерял связь со звонком: процесс, который его вёл, остановился. "
    "Если разговор ещё идёт, завершите его на телефоне"
)

#: How often a process waiting for another's call to end looks at it again (seconds).
LOOK_AGAIN = 0.05

_RUNNING = tuple(s for s in CallState if s is not CallState.ENDED)


@dataclass(frozen=True)
class _Held:
    call: PhoneCall
    gateway: TelephonyGateway
    appeal_id: str
    staff_id: str


class Switchboard:
    """The phone calls as one process of central serves them; `name` tells it among the others."""

    def __init__(self, book: PhoneBook, record: Callable[[ActiveCall], None]) -> None:
        self.book = book
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.pid = os.getpid()
        self._record = record  # the call log row of a call whose holder died
        self._held: dict[str, _Held] = {}
        # Held while a call's state is read and written to the book, so that the book always
        # ends with the newest state whichever thread writes last.
        self._lock = threading.Lock()
        self._starting = threading.Lock()
        self._serving = False

    # -- the calls held here ------------------------------------------------------------

    def place(
        self,
        gateway: TelephonyGateway,
        consultant_phone: str,
        patient_phone: str,
        *,
        caller_id: str,
        timeout: float,
        appeal_id: str,
        staff_id: str,
        on_end: Callable[[PhoneCall], None],
    ) -> PhoneCall:
        """Start the call through `gateway`; this process holds it until it ends."""
        self._serve()
        call = gateway.call(
            consultant_phone,
            patient_phone,
            caller_id=caller_id,
            timeout=timeout,
            on_end=on_end,
            on_change=lambda changed: self._write(changed, appeal_id, staff_id),
        )
        held = _Held(call, gateway, appeal_id, staff_id)
        with self._lock:
            if call.state is not CallState.ENDED:  # once ended, `_write` has let it go
                self._held[call.id] = held
        self._write(call, appeal_id, staff_id)
        return call

    def entry(self, call: PhoneCall, appeal_id: str, staff_id: str) -> ActiveCall:
        return ActiveCall(call.snapshot(), appeal_id, staff_id, self.name)

    def _write(self, call: PhoneCall, appeal_id: str, staff_id: str) -> None:
        with self._lock:
            entry = self.entry(call, appeal_id, staff_id)
            if entry.ended:
                self._held.pop(call.id, None)
            written = self.book.put(entry)
        if not written and not entry.ended:
            # Another process ended it, taking this one for dead (its lease ran out): end it here too.
            log.warning("phone call %s was given up elsewhere: hanging up", call.id)
            call.hangup_requested.set()

    def _serve(self) -> None:
        """Hold calls from now on: keep this process's lease and hear what is asked of its calls."""
        with self._starting:
            if not self._serving:
                self.book.serve(self.name, self._held_ids, self._hang_up_held)
                self._serving = True

    def _held_ids(self) -> list[str]:
        with self._lock:
            return list(self._held)

    def _hang_up_held(self, call_id: str) -> None:
        with self._lock:
            held = self._held.get(call_id)
        if held is not None:
            held.gateway.hang_up(held.call)

    # -- any call --------------------------------------------------------------------------

    def find(self, call_id: str) -> ActiveCall | None:
        entry = self.book.get(call_id)
        return self._settled(entry) if entry is not None else None

    def for_appeal(self, appeal_id: str) -> list[ActiveCall]:
        """The appeal's calls, newest first."""
        return [self._settled(entry) for entry in self.book.for_appeal(appeal_id)]

    def hang_up(self, entry: ActiveCall, wait: float) -> ActiveCall:
        """End the call wherever it is held; the call once ended (or as it is after `wait` seconds)."""
        with self._lock:
            held = self._held.get(entry.call.id)
        if held is not None:
            held.gateway.hang_up(held.call)
            held.call.wait_past(*_RUNNING, timeout=wait)
            return self.entry(held.call, held.appeal_id, held.staff_id)
        if entry.ended or entry.holder == self.name:
            return self.find(entry.call.id) or entry  # ended here already
        self.book.ask_to_hang_up(entry)
        deadline = time.monotonic() + wait
        current: ActiveCall | None = entry
        while current is not None and not current.ended and time.monotonic() < deadline:
            time.sleep(LOOK_AGAIN)
            current = self.find(entry.call.id)
        return current or entry

    def _settled(self, entry: ActiveCall) -> ActiveCall:
        """The call as it stands: one whose holder has gone is over, and is logged so here."""
        if entry.ended or entry.holder == self.name or self.book.holder_alive(entry.holder):
            return entry
        call = replace(
            entry.call,
            state=CallState.ENDED,
            outcome=CallOutcome.FAILED,
            error=TelephonyError(HOLDER_LOST),
            ended_at=utcnow(),
        )
        lost = replace(entry, call=call)
        if not self.book.put(lost):  # another process got there first
            return self.book.get(entry.call.id) or lost
        log.warning("phone call %s: its holder %s is gone; the call is over", call.id, entry.holder)
        self._record(lost)
        return lost
