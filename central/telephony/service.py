"""«Аудиозвонок на телефон»: whether the consultant may call, placing the call, and its log.

A call runs in the central process that placed it (the gateway's thread), which
holds it; any process (another web worker, another instance on the same Redis)
follows and ends it through this process's `Switchboard` and the shared `book`.
When a call ends, a `CallLog` row (mode "phone", under the call's id) is written,
which syncs to the post like the rest of the appeal.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from peewee import IntegrityError

from domain.models import Appeal, AppealStatus, CallLog, CallMode, OrgKind, Staff
from domain.validators import without_extension
from i18n import N_
from sync.clock import utcnow
from sync.db import database

from ..extensions import shared_redis
from . import store
from .book import HOLDER_LEASE, ActiveCall, phone_book_for
from .gateway import CallState, PhoneCallUnavailable, TelephonyError, TelephonyGateway
from .sip import SipGateway, SipTrunk, Timers
from .store import TelephonySettings, consultant_phone, settings_for
from .switchboard import Switchboard

__all__ = [
    "PhoneCallOffer",
    "ActiveCall",
    "phone_call_offer",
    "start_phone_call",
    "hang_up",
    "find_call",
    "gateway_for",
    "switchboard",
]

NOT_CONFIGURED = N_("Телефония для центра не настроена: обратитесь к администратору")
NO_OWN_PHONE = N_("Укажите свой номер телефона в «Профиле»: сначала позвонят вам, затем соединят с пациентом")
NO_PATIENT_PHONE = N_("У пациента не указан номер телефона")
NOT_YOURS = N_("Звонить пациенту может консультант, взявший обращение в работу")
ALREADY = N_("Звонок по этому обращению уже идёт")

#: How long the appeal page tells how the consultant's last call ended.
RECENT = timedelta(minutes=15)

_creating = threading.Lock()


def switchboard(app: Flask | None = None) -> Switchboard:
    """This process's switchboard for the app (a forked web worker gets its own)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    board: Switchboard | None = app.extensions.get("phone_switchboard")
    if board is None or board.pid != os.getpid():
        with _creating:
            board = app.extensions.get("phone_switchboard")
            if board is None or board.pid != os.getpid():
                lease = float(app.config.get("TELEPHONY_HOLDER_LEASE", HOLDER_LEASE))
                book = phone_book_for(shared_redis(app), lease)
                board = Switchboard(book, record=lambda entry: _record(app, entry))
                app.extensions["phone_switchboard"] = board
    return board


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
    calls = switchboard().for_appeal(appeal.id)
    running = next((entry for entry in calls if not entry.ended), None)
    reason = None
    if _centre_settings(staff) is None:
        reason = NOT_CONFIGURED
    elif not consultant_phone(staff.id):
        reason = NO_OWN_PHONE
    elif not appeal.patient.phone:
        reason = NO_PATIENT_PHONE
    return PhoneCallOffer(True, reason, running, _last_ended(calls, staff.id, utcnow() - RECENT))


def _last_ended(calls: list[ActiveCall], staff_id: str, since: datetime) -> ActiveCall | None:
    """The consultant's newest call that has ended, if it ended after `since`."""
    for entry in calls:
        if entry.staff_id == staff_id and entry.ended:
            ended_at = entry.call.ended_at
            return entry if ended_at is not None and ended_at >= since else None
    return None


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


def _record(app: Flask, entry: ActiveCall) -> None:
    """The call log row, written as the call ends (in the call's thread), once per call."""
    call = entry.call
    try:
        with app.app_context(), database.atomic():
            CallLog.create(
                id=call.id,
                appeal=entry.appeal_id,
                caller=entry.staff_id,
                mode=CallMode.PHONE,
                started_at=call.started_at,
                ended_at=call.ended_at,
                duration_s=call.duration_s,
                outcome=call.outcome,
                detail=call.error.message if call.error else "",
            )
    except IntegrityError:
        with app.app_context():
            if CallLog.get_or_none(CallLog.id == call.id) is None:
                raise
        # Already logged: by a process that took this one, the call's holder, for dead.


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
    board = switchboard(app)
    appeal_id, staff_id = appeal.id, staff.id
    call = board.place(
        gateway,
        consultant_phone(staff.id),
        without_extension(str(appeal.patient.phone)),  # the consultant asks for the extension
        caller_id=settings.caller_id,
        timeout=float(settings.ring_timeout),
        appeal_id=appeal_id,
        staff_id=staff_id,
        on_end=lambda ended: _record(app, board.entry(ended, appeal_id, staff_id)),
    )
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
    return board.entry(call, appeal_id, staff_id)


def find_call(staff: Staff, call_id: str) -> ActiveCall | None:
    """A call the staff member placed (no one else's), whichever process holds it."""
    entry = switchboard().find(call_id)
    return entry if entry is not None and entry.staff_id == staff.id else None


def hang_up(entry: ActiveCall, wait: float = 5.0) -> ActiveCall:
    """«Завершить звонок»: both phones are hung up; returns the call once it has ended (or after `wait`)."""
    return switchboard().hang_up(entry, wait)
