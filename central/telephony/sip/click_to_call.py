"""Click-to-call over SIP by third-party call control (RFC 3725, flow I).

    controller → consultant: INVITE (no SDP)          ← 200 OK (offer)
    controller → patient:    INVITE (offer), From/P-Asserted-Identity = centre ← 200 OK (answer)
    controller → patient:    ACK;  controller → consultant: ACK (answer)
    … either phone hangs up (BYE), or the consultant presses «Завершить» …
    controller → the other (or both): BYE

The patient sees only the centre's caller ID. Flow I has one limit: the
consultant's phone waits for its ACK while the patient's phone rings, and gives
up after 64·T1 (32 s), so the patient's ringing is capped below that.
"""

from __future__ import annotations

import logging
import secrets
import select
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.models import CallOutcome
from i18n import N_

from ..gateway import CallState, PhoneCall, TelephonyError
from .leg import ClientTransaction, Credentials, Leg, Timers, Unresolvable
from .message import SipMessage, SipUri

__all__ = ["SipTrunk", "SipGateway", "ClickToCall", "rejecting_answer"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SipTrunk:
    """A centre's SIP account: the proxy/registrar every number is dialled through."""

    host: str
    port: int = 5060
    username: str = ""
    password: str = ""
    timers: Timers = field(default_factory=Timers)
    #: A call is hung up after this long, whatever happens (a phone that never sends BYE).
    max_duration: float = 2 * 3600.0

    @property
    def credentials(self) -> Credentials | None:
        return Credentials(self.username, self.password) if self.username else None


class SipGateway:
    """`TelephonyGateway` over SIP/UDP: each call runs in its own thread."""

    def __init__(self, trunk: SipTrunk) -> None:
        self.trunk = trunk

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
        call = PhoneCall(consultant_phone, patient_phone, caller_id, on_change)
        worker = threading.Thread(
            target=self._run, args=(call, timeout, on_end), name=f"phone-call-{call.id[:8]}", daemon=True
        )
        worker.start()
        return call

    def hang_up(self, call: PhoneCall) -> None:
        call.hangup_requested.set()

    def status(self, call: PhoneCall) -> CallState:
        return call.state

    def _run(self, call: PhoneCall, timeout: float, on_end: Callable[[PhoneCall], None] | None) -> None:
        try:
            ClickToCall(self.trunk, call, timeout).run()
        except TelephonyError as exc:
            log.info("phone call %s failed: %s", call.id, exc.message)
            call.finish(exc.outcome, exc)
        except Exception as exc:  # a bug or an OS error must still end the call and reach the log
            log.exception("phone call %s crashed", call.id)
            call.finish(CallOutcome.FAILED, TelephonyError(N_("Сбой телефонии: %(error)s"), error=str(exc)))
        finally:
            if on_end is not None:
                try:
                    on_end(call)
                except Exception:
                    log.exception("phone call %s: could not record its end", call.id)
            call.ended()


@dataclass(frozen=True)
class Failure:
    """What a final response of one leg means to the consultant."""

    message: str
    outcome: str = CallOutcome.FAILED


#: The consultant's own phone: the patient is never called if it fails.
CONSULTANT_FAILURES: dict[int, Failure] = {
    486: Failure(N_("Ваш телефон занят: звонок пациенту не состоялся")),
    600: Failure(N_("Ваш телефон занят: звонок пациенту не состоялся")),
    603: Failure(N_("Вы отклонили вызов на своём телефоне: звонок пациенту отменён")),
    404: Failure(N_("Ваш номер телефона не найден на SIP-сервере: проверьте его в профиле")),
    484: Failure(N_("Ваш номер телефона не найден на SIP-сервере: проверьте его в профиле")),
    604: Failure(N_("Ваш номер телефона не найден на SIP-сервере: проверьте его в профиле")),
    408: Failure(N_("Вы не ответили на вызов на своём телефоне: звонок пациенту отменён")),
    480: Failure(N_("Ваш телефон недоступен: звонок пациенту не состоялся")),
}
CONSULTANT_NO_ANSWER = Failure(N_("Вы не ответили на вызов на своём телефоне: звонок пациенту отменён"))
CONSULTANT_OTHER = N_("Ваш телефон не принял вызов: ответ SIP-сервера %(status)s %(reason)s")

PATIENT_FAILURES: dict[int, Failure] = {
    486: Failure(N_("Номер пациента занят: позвоните позже"), CallOutcome.DECLINED),
    600: Failure(N_("Номер пациента занят: позвоните позже"), CallOutcome.DECLINED),
    603: Failure(N_("Пациент отклонил звонок"), CallOutcome.DECLINED),
    404: Failure(N_("Номер пациента не существует или набран неверно: проверьте его в карточке")),
    484: Failure(N_("Номер пациента не существует или набран неверно: проверьте его в карточке")),
    604: Failure(N_("Номер пациента не существует или набран неверно: проверьте его в карточке")),
    408: Failure(N_("Пациент не ответил на звонок"), CallOutcome.MISSED),
    480: Failure(N_("Телефон пациента выключен или вне зоны доступа"), CallOutcome.MISSED),
}
PATIENT_NO_ANSWER = Failure(N_("Пациент не ответил на звонок"), CallOutcome.MISSED)
PATIENT_OTHER = N_("Звонок пациенту не состоялся: ответ SIP-сервера %(status)s %(reason)s")

AUTH_REFUSED = N_(
    "SIP-сервер не принял логин и пароль телефонии центра: проверьте их на странице «Телефония»"
)
UNREACHABLE = N_(
    "SIP-сервер %(address)s не отвечает: проверьте адрес на странице «Телефония» и связь центра с ним"
)
UNKNOWN_HOST = N_("Адрес SIP-сервера «%(host)s» не найден: проверьте его на странице «Телефония»")
CANCELLED = N_("Звонок отменён")
NO_OFFER = N_("Ваш телефон ответил без описания звука (SDP): такой телефон не подходит для звонков пациентам")
NO_ANSWER_SDP = N_("Телефонная сеть пациента ответила без описания звука (SDP): звонок прерван")

#: The consultant's phone gives up on its 200 OK after 64·T1 (T1 = 0.5 s) without an ACK: the
#: patient's phone may ring only a little less than that.
ACK_PATIENCE = 30.0

#: How long to wait for the phones to confirm the final BYEs before letting go.
BYE_WAIT = 4.0


def rejecting_answer(offer: bytes, local_ip: str) -> bytes:
    """An SDP answer that declines every stream of `offer` (port 0, RFC 3264 §6): to ACK, then hang up."""
    session = secrets.randbelow(10**9)
    lines = ["v=0", f"o=faplink {session} {session} IN IP4 {local_ip}", "s=-", "c=IN IP4 0.0.0.0", "t=0 0"]
    for line in offer.decode("utf-8", "replace").splitlines():
        if line.startswith("m="):
            media, _port, proto, *formats = line[2:].split()
            lines.append(f"m={media} 0 {proto} {formats[0] if formats else '0'}")
    return ("\r\n".join(lines) + "\r\n").encode()


class _Stop(Exception):
    """The INVITE was cancelled on purpose (hang-up or ringing timeout); carries the reason."""

    def __init__(self, error: TelephonyError) -> None:
        self.error = error


class ClickToCall:
    """One call's flow, run in the call's own thread."""

    def __init__(self, trunk: SipTrunk, call: PhoneCall, timeout: float) -> None:
        self.trunk = trunk
        self.call = call
        self.timeout = timeout
        self.legs: list[Leg] = []

    def run(self) -> None:
        try:
            self._run()
        finally:
            for leg in self.legs:
                leg.close()

    def _run(self) -> None:
        call = self.call
        centre = SipUri(call.caller_id, self.trunk.host, self.trunk.port)
        consultant = self._leg("consultant", call.consultant_phone, str(centre), "faplink", ())
        call.calling_consultant()
        answered = self._invite(
            consultant, b"", self.timeout, CONSULTANT_FAILURES, CONSULTANT_NO_ANSWER, CONSULTANT_OTHER
        )
        offer = answered.body
        if not offer.strip():
            consultant.send_ack()
            self._hang_up([consultant])
            raise TelephonyError(NO_OFFER)

        call.calling_patient()
        identity = f"<{centre}>"
        try:
            patient = self._leg(
                "patient", call.patient_phone, str(centre), "", (("P-Asserted-Identity", identity),)
            )
            ring = min(self.timeout, ACK_PATIENCE)
            reply = self._invite(
                patient,
                offer,
                ring,
                PATIENT_FAILURES,
                PATIENT_NO_ANSWER,
                PATIENT_OTHER,
                stop=lambda: consultant.bye_received,
            )
        except TelephonyError:
            consultant.send_ack(rejecting_answer(offer, consultant.local_ip))
            self._hang_up([consultant])
            raise
        patient.send_ack()
        if not reply.body.strip():
            consultant.send_ack(rejecting_answer(offer, consultant.local_ip))
            self._hang_up([consultant, patient])
            raise TelephonyError(NO_ANSWER_SDP)
        consultant.send_ack(reply.body)
        call.connected()

        limit = time.monotonic() + self.trunk.max_duration
        while not (
            consultant.bye_received
            or patient.bye_received
            or call.hangup_requested.is_set()
            or time.monotonic() >= limit
        ):
            self._pump(time.monotonic() + 0.5)
        call.finish(CallOutcome.COMPLETED)
        self._hang_up([leg for leg in (consultant, patient) if not leg.bye_received])

    # -- steps -------------------------------------------------------------------

    def _leg(
        self, role: str, phone: str, local_uri: str, display: str, extra: Sequence[tuple[str, str]]
    ) -> Leg:
        trunk = self.trunk
        if phone.startswith("sip:"):  # a SIP address (a desk phone, a softphone): straight to it
            target, proxy = SipUri.parse(phone), None
        else:
            target, proxy = SipUri(phone, trunk.host, trunk.port), (trunk.host, trunk.port)
        try:
            leg = Leg(role, target, local_uri, display, proxy, trunk.credentials, trunk.timers, extra)
        except Unresolvable as exc:
            raise TelephonyError(UNKNOWN_HOST, host=str(exc)) from exc
        self.legs.append(leg)
        return leg

    def _pump(self, until: float) -> None:
        """Read what the phones sent and retransmit what is due, for at most until `until`."""
        wake = [until, *(t for t in (leg.next_timer() for leg in self.legs) if t is not None)]
        delay = max(0.0, min(wake) - time.monotonic())
        ready, _, _ = select.select([leg.sock for leg in self.legs], [], [], min(delay, 0.5))
        for leg in self.legs:
            if leg.sock in ready:
                leg.read()
        now = time.monotonic()
        for leg in self.legs:
            leg.retransmit(now)

    def _invite(
        self,
        leg: Leg,
        sdp: bytes,
        ring: float,
        failures: dict[int, Failure],
        no_answer: Failure,
        other: str,
        stop: Callable[[], bool] = lambda: False,
    ) -> SipMessage:
        """INVITE one phone and wait for its 2xx; any other end raises TelephonyError."""
        tx = leg.send_invite(sdp)
        ring_until = time.monotonic() + ring
        stopping: TelephonyError | None = None
        stop_until = 0.0
        while True:
            self._pump(min(ring_until, time.monotonic() + 0.2))
            if tx.provisional is not None and leg.role == "consultant":
                self.call.consultant_rings()
            final = tx.final
            if final is not None and 200 <= final.status < 300:
                if stopping is None:
                    return final
                # The phone answered as the CANCEL crossed it: take the call and end it at once.
                leg.send_ack(rejecting_answer(final.body, leg.local_ip) if not sdp else b"")
                self._hang_up([leg])
                raise stopping
            if final is not None and final.status in (401, 407):
                retry = leg.retry_with_credentials()
                if retry is None:
                    raise TelephonyError(AUTH_REFUSED)
                tx = retry
                continue
            if final is not None:
                if stopping is not None:
                    raise stopping
                if final.status == 403 and leg.auth_tries:
                    raise TelephonyError(AUTH_REFUSED)  # the trunk refused the credentials we sent
                failure = failures.get(final.status)
                if failure is not None:
                    raise TelephonyError(failure.message, outcome=failure.outcome)
                template = UNREACHABLE if final.status == 503 else other
                raise TelephonyError(template, **self._detail(leg, final))
            if leg.unreachable or _never_answered(tx, self.trunk.timers):
                raise TelephonyError(UNREACHABLE, address=_address(leg))
            now = time.monotonic()
            if stopping is None:
                if self.call.hangup_requested.is_set() or stop():
                    stopping = TelephonyError(
                        CANCELLED, outcome=CallOutcome.MISSED if leg.role == "patient" else CallOutcome.FAILED
                    )
                elif now >= ring_until:
                    stopping = TelephonyError(no_answer.message, outcome=no_answer.outcome)
                if stopping is not None:
                    stop_until = now + self.trunk.timers.give_up
                    leg.cancel()
            elif tx.provisional is not None and not any(t.method == "CANCEL" for t in leg.transactions):
                leg.cancel()
            elif now >= stop_until:
                raise stopping

    def _detail(self, leg: Leg, final: SipMessage) -> dict[str, Any]:
        return {"status": final.status, "reason": final.reason, "address": _address(leg)}

    def _hang_up(self, legs: list[Leg]) -> None:
        """BYE each answered phone and wait (briefly) for them to confirm."""
        byes: list[ClientTransaction] = [leg.send_bye() for leg in legs if leg.remote_tag]
        until = time.monotonic() + min(BYE_WAIT, self.trunk.timers.give_up)
        while byes and not all(tx.done for tx in byes) and time.monotonic() < until:
            self._pump(until)


def _never_answered(tx: ClientTransaction, timers: Timers) -> bool:
    """Timer B: no response at all to the INVITE within 64·T1."""
    return tx.final is None and tx.provisional is None and time.monotonic() >= tx.deadline


def _address(leg: Leg) -> str:
    host, port = leg.next_hop
    return f"{host}:{port}"
