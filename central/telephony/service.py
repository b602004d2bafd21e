"""«Аудиозвонок на телефон»: whether the consultant may call, placing the call, and its log.

Calls run in this central process (the gateway's thread) and are followed
here by id; when a call ends, a `CallLog` row (mode "phone") is written, which
syncs to the post like the rest of the appeal.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app

from domain.models import Appeal, AppealStatus, CallLog, CallMode, OrgKind, Staff
from domain.validators import without_extension
from i18n import N_
from sync.clock import utcnow
from sync.db import database

from . import store
from .gateway import CallState, PhoneCall, PhoneCallUnavailable, TelephonyError, TelephonyGateway
from .sip import SipGateway, SipTrunk, Timers
from .store import TelephonySettings, consultant_phone, settings_for

__all__ = [
    "PhoneCallOffer",
    "ActiveCall",
    "phone_call_offer",
    "start_phone_call",
    "hang_up",
    "find_call",
    "gateway_for",
]

NOT_CONFIGURED = N_("Телефония для центра не настроена: обратитесь к администратору")
NO_OWN_PHONE = N_("Укажите свой номер телефона в «Профиле»: сначала позвонят вам, затем соединят с пациентом")
NO_PATIENT_PHONE = N_("У пациента не указан номер телефона")
NOT_YOURS = N_("Звонить пациенту может консультант, взявший обращение в работу")
ALREADY = N_("Звонок по этому обращению уже идёт")

#: How many calls (running or just ended) the process remembers for their pages.
REMEMBERED = 200
#: How long the appeal page tells how the consultant's last call ended.
RECENT = timedelta(minutes=15)


@dataclass
class ActiveCall:
    call: PhoneCall
    gateway: TelephonyGateway
    appeal_id: str
    staff_id: str


class _Calls:
    """The calls this process placed, by id (the newest REMEMBERED, running ones included)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: OrderedDict[str, ActiveCall] = OrderedDict()

    def add(self, entry: ActiveCall) -> None:
        with self._lock:
            self._calls[entry.call.id] = entry
            while len(self._calls) > REMEMBERED:
                oldest = next(iter(self._calls))
                if self._calls[oldest].call.state is not CallState.ENDED:
                    break
                del self._calls[oldest]

    def get(self, call_id: str) -> ActiveCall | None:
        with self._lock:
            return self._calls.get(call_id)

    def running_for(self, appeal_id: str) -> ActiveCall | None:
        with self._lock:
            for entry in reversed(self._calls.values()):
                if entry.appeal_id == appeal_id and entry.call.state is not CallState.ENDED:
                    return entry
        return None

    def last_ended(self, appeal_id: str, staff_id: str, since: datetime) -> ActiveCall | None:
        with self._lock:
            for entry in reversed(self._calls.values()):
                call = entry.call
                mine = (entry.appeal_id, entry.staff_id) == (appeal_id, staff_id)
                if mine and call.state is CallState.ENDED:
                    return entry if call.ended_at is not None and call.ended_at >= since else None
        return None


def _calls(app: Flask | None = None) -> _Calls:
    app = app or current_app
    calls: _Calls | None = app.extensions.get("phone_calls")
    if calls is None:
        calls = app.extensions.setdefault("phone_calls", _Calls())
    return calls


@dataclass(frozen=True)
class PhoneCallOffer:
    """What the appeal page shows of «Аудиозвонок на телефон»."""

    shown: bool  # the consultant has this appeal in work
    reason: str | None  # why the button is off (a msgid), or None: it is on
    running: ActiveCall | None  # the call under way for this appeal, if any
    last: ActiveCall | None = None  # the consultant's call that ended a moment ago: how it went

    @property
    def available(self) -> bool:
        return self.shown and self.reason is None and self.running is None


def _centre_settings(staff: Staff) -> TelephonySettings | None:
    if staff.organization.kind != OrgKind.CENTRE:
        return None
    return settings_for(staff.organization_id)


def phone_call_offer(staff: Staff | None, appeal: Appeal) -> PhoneCallOffer:
    if staff is None or appeal.status != AppealStatus.IN_WORK or appeal.taken_by_id != staff.id:
        return PhoneCallOffer(False, NOT_YOURS, None)
    calls = _calls()
    running = calls.running_for(appeal.id)
    last = calls.last_ended(appeal.id, staff.id, utcnow() - RECENT)
    reason = None
    if _centre_settings(staff) is None:
        reason = NOT_CONFIGURED
    elif not consultant_phone(staff.id):
        reason = NO_OWN_PHONE
    elif not appeal.patient.phone:
        reason = NO_PATIENT_PHONE
    return PhoneCallOffer(True, reason, running, last)


def gateway_for(settings: TelephonySettings) -> TelephonyGateway:
    """The centre's gateway, built from its «Телефония» settings."""
    if settings.kind == "sip":
        timers = Timers(t1=float(current_app.config.get("TELEPHONY_SIP_T1", 0.5)))
        return SipGateway(
            SipTrunk(
                settings.host,
                settings.port,
                settings.username,
                store.open_password(current_app.extensions["sealing_key"], settings.password),
                timers,
            )
        )
    raise TelephonyError(N_("Неизвестный вид телефонии: %(kind)s"), kind=settings.kind)


def _record(app: Flask, appeal_id: str, staff_id: str, call: PhoneCall) -> None:
    """The call log row, written as the call ends (in the call's thread)."""
    with app.app_context(), database.atomic():
        CallLog.create(
            appeal=appeal_id,
            caller=staff_id,
            mode=CallMode.PHONE,
            started_at=call.started_at,
            ended_at=call.ended_at,
            duration_s=call.duration_s,
            outcome=call.outcome,
            detail=call.error.message if call.error else "",
        )


def start_phone_call(staff: Staff, appeal: Appeal) -> ActiveCall:
    """Ring the consultant's phone, then the patient's; returns once the call is under way or over.

    Raises PhoneCallUnavailable if the button is off, and TelephonyError if the
    call failed straight away (its log row is written all the same).
    """
    offer = phone_call_offer(staff, appeal)
    if offer.reason is not None:
        raise PhoneCallUnavailable(offer.reason)
    if offer.running is not None:
        raise PhoneCallUnavailable(ALREADY)
    settings = _centre_settings(staff)
    assert settings is not None
    gateway = gateway_for(settings)
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    appeal_id, staff_id = appeal.id, staff.id
    call = gateway.call(
        consultant_phone(staff.id),
        without_extension(str(appeal.patient.phone)),  # the consultant asks for the extension
        caller_id=settings.caller_id,
        timeout=float(settings.ring_timeout),
        on_end=lambda ended: _record(app, appeal_id, staff_id, ended),
    )
    entry = ActiveCall(call, gateway, appeal.id, staff.id)
    _calls().add(entry)
    # Most failures (a closed port, refused credentials, a busy line) come within a moment:
    # say so at once rather than on the next look at the page.
    call.wait_until(
        lambda: (
            call.ringing or call.state in (CallState.CALLING_PATIENT, CallState.CONNECTED, CallState.ENDED)
        ),
        timeout=float(current_app.config.get("TELEPHONY_START_WAIT", 3.0)),
    )
    if call.state is CallState.ENDED and call.error is not None:
        raise call.error
    return entry


def find_call(staff: Staff, call_id: str) -> ActiveCall | None:
    """A call the staff member placed (no one else's)."""
    entry = _calls().get(call_id)
    return entry if entry is not None and entry.staff_id == staff.id else None


def hang_up(entry: ActiveCall, wait: float = 5.0) -> PhoneCall:
    """«Завершить звонок»: both phones are hung up; returns the call once it has ended (or after `wait`)."""
    entry.gateway.hang_up(entry.call)
    entry.call.wait_past(*(s for s in CallState if s is not CallState.ENDED), timeout=wait)
    return entry.call
