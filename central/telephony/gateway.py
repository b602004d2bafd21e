"""What any telephony gateway does for «Аудиозвонок на телефон», whatever engine is behind it.

The consultant's phone rings first; once the consultant answers, the gateway
calls the patient's number showing the centre's caller ID (never the
consultant's own number) and joins the two. A `PhoneCall` is followed while it
lasts; when it ends, its outcome says how. A `CallSnapshot` is the call as it
stood at one moment: what pages show, and what other processes of central read
(`book`), since the call itself lives in the process that placed it.
"""

from __future__ import annotations

import enum
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from domain.errors import LifecycleError
from domain.models import CallOutcome
from i18n import N_
from sync.clock import utcnow
from sync.errors import SyncError

__all__ = [
    "CallState",
    "PhoneCall",
    "CallSnapshot",
    "TelephonyGateway",
    "TelephonyError",
    "PhoneCallUnavailable",
]

log = logging.getLogger(__name__)


class TelephonyError(SyncError):
    """A phone call that did not take place, or ended badly; `outcome` goes to the call log."""

    code = "telephony_failed"

    def __init__(
        self, template: str, *, outcome: str = CallOutcome.FAILED, field: str | None = None, **params: object
    ) -> None:
        super().__init__(template, field=field, **params)
        self.outcome = outcome


class PhoneCallUnavailable(LifecycleError):
    """The button is off: no gateway for the centre, no number, or not the consultant's appeal."""

    code = "phone_call_unavailable"


class CallState(enum.Enum):
    STARTING = "starting"
    CALLING_CONSULTANT = "calling_consultant"  # the consultant's own phone rings
    CALLING_PATIENT = "calling_patient"  # the consultant answered; the patient's phone rings
    CONNECTED = "connected"  # both talk
    ENDED = "ended"


#: What the consultant's page says in each state.
STATE_LABELS = {
    CallState.STARTING: N_("Соединение с телефонией…"),
    CallState.CALLING_CONSULTANT: N_("Звоним на ваш телефон: ответьте на звонок"),
    CallState.CALLING_PATIENT: N_("Вызываем пациента…"),
    CallState.CONNECTED: N_("Идёт разговор"),
    CallState.ENDED: N_("Звонок завершён"),
}


class PhoneCall:
    """One click-to-call as the consultant follows it: its state, and at the end its outcome."""

    def __init__(
        self,
        consultant_phone: str,
        patient_phone: str,
        caller_id: str,
        on_change: Callable[[PhoneCall], None] | None = None,
    ) -> None:
        self.id = str(uuid.uuid4())
        self.consultant_phone = consultant_phone
        self.patient_phone = patient_phone
        self.caller_id = caller_id
        self.state = CallState.STARTING
        self.outcome: str | None = None
        self.error: TelephonyError | None = None
        self.started_at: datetime = utcnow()
        self.answered_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.ringing = False  # the consultant's phone has said it rings
        self.hangup_requested = threading.Event()
        self._changed = threading.Condition()
        #: Told of every change (in the call's thread, after it): the call's book is kept with it.
        self._on_change = on_change

    def _set_state(self, state: CallState) -> None:
        with self._changed:
            if self.state is CallState.ENDED:
                return
            log.info("phone call %s: %s → %s", self.id, self.state.value, state.value)
            self.state = state
            if state is CallState.CONNECTED:
                self.answered_at = utcnow()
            self._changed.notify_all()
        self._told()

    def _told(self) -> None:
        if self._on_change is not None:
            try:
                self._on_change(self)
            except Exception:  # the call goes on even if no one else may learn of it
                log.exception("phone call %s: could not tell of its change", self.id)

    def calling_consultant(self) -> None:
        self._set_state(CallState.CALLING_CONSULTANT)

    def calling_patient(self) -> None:
        self._set_state(CallState.CALLING_PATIENT)

    def consultant_rings(self) -> None:
        with self._changed:
            if self.ringing:
                return
            self.ringing = True
            self._changed.notify_all()
        self._told()

    def connected(self) -> None:
        self._set_state(CallState.CONNECTED)

    def finish(self, outcome: str, error: TelephonyError | None = None) -> None:
        """Record how the call ended (the state moves to ENDED after `on_end` has run)."""
        with self._changed:
            self.outcome = outcome
            self.error = error
            self.ended_at = utcnow()

    def ended(self) -> None:
        self._set_state(CallState.ENDED)

    @property
    def duration_s(self) -> int:
        """Seconds of conversation: from the patient's answer to the first hang-up."""
        return _talk_seconds(self.answered_at, self.ended_at)

    def snapshot(self) -> CallSnapshot:
        with self._changed:
            return CallSnapshot(
                self.id,
                self.state,
                self.outcome,
                self.error,
                self.started_at,
                self.answered_at,
                self.ended_at,
                self.ringing,
            )

    def wait_past(self, *states: CallState, timeout: float) -> CallState:
        """Wait until the call has left `states` (or `timeout` passes); returns the state then."""
        return self.wait_until(lambda: self.state not in states, timeout=timeout)

    def wait_until(self, ready: Callable[[], bool], timeout: float) -> CallState:
        with self._changed:
            self._changed.wait_for(ready, timeout=timeout)
            return self.state


def _talk_seconds(answered_at: datetime | None, ended_at: datetime | None) -> int:
    if answered_at is None:
        return 0
    end = ended_at or utcnow()
    return max(0, round((end - answered_at).total_seconds()))


@dataclass(frozen=True)
class CallSnapshot:
    """A phone call as it stood at one moment, in any process of central."""

    id: str
    state: CallState
    outcome: str | None
    error: TelephonyError | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    ringing: bool

    @property
    def duration_s(self) -> int:
        """Seconds of conversation: from the patient's answer to the first hang-up."""
        return _talk_seconds(self.answered_at, self.ended_at)

    def to_json(self) -> dict[str, Any]:
        error = self.error
        return {
            "id": self.id,
            "state": self.state.value,
            "outcome": self.outcome,
            "error": None
            if error is None
            else {"template": error.template, "params": error.params, "outcome": error.outcome},
            "started_at": self.started_at.isoformat(),
            "answered_at": _iso(self.answered_at),
            "ended_at": _iso(self.ended_at),
            "ringing": self.ringing,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallSnapshot:
        error = data["error"]
        return cls(
            id=data["id"],
            state=CallState(data["state"]),
            outcome=data["outcome"],
            error=None
            if error is None
            else TelephonyError(error["template"], outcome=error["outcome"], **error["params"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            answered_at=_moment(data["answered_at"]),
            ended_at=_moment(data["ended_at"]),
            ringing=bool(data["ringing"]),
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class TelephonyGateway(Protocol):
    """A telephony engine that joins the consultant's phone and the patient's, configured per centre."""

    def call(
        self,
        consultant_phone: str,
        patient_phone: str,
        *,
        caller_id: str,
        timeout: float,
        on_end: Callable[[PhoneCall], None] | None = None,
        on_change: Callable[[PhoneCall], None] | None = None,
    ) -> PhoneCall:
        """Start calling (in the background); `timeout` is how long each phone may ring.
        `on_end` runs as the call ends, before its state says so; `on_change` after every change."""
        ...

    def hang_up(self, call: PhoneCall) -> None:
        """End the call on both phones (or stop the ringing)."""
        ...

    def status(self, call: PhoneCall) -> CallState: ...
