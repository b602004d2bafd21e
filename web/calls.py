"""What the calls features of central and the node share: settings, refusals and the call log.

A call is placed by one side's page and answered by the other's; the server of the
side that placed it keeps its record (one `CallLog` row, written when the call ends),
and the sync carries that record to the other side like any other.

Settings (both apps, from `FAPLINK_*` environment variables like the others):

- ``ICE_SERVERS``: the `RTCPeerConnection` ``iceServers`` list as JSON, e.g.
  ``[{"urls": "turn:turn.example.ru:3478", "username": "fap", "credential": "…"}]``.
  The default, ``[]``, uses host candidates only: enough on one LAN; posts behind
  NAT need a TURN server (coturn).
- ``CALL_RING_SECONDS``: how long a call rings before it counts as missed (45).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec

from flask import Blueprint, Flask, current_app, has_app_context, url_for

from domain.errors import LifecycleError
from domain.models import Appeal, CallLog, CallMode, CallOutcome
from i18n import N_
from sync.clock import utcnow
from sync.db import database

from .i18n import translate_error
from .serialize import iso

log = logging.getLogger(__name__)

P = ParamSpec("P")

__all__ = [
    "CALL_MODES",
    "CallRefused",
    "CallTimes",
    "IceServersError",
    "check_ice_servers",
    "init_calls",
    "record_call",
    "call_log",
    "outcome_for_hangup",
    "call_log_json",
    "END_REASONS",
]

#: Modes a page may place (the phone mode belongs to the telephony gateway).
CALL_MODES = (CallMode.VIDEO, CallMode.AUDIO)
_ICE_KEYS = {"urls", "username", "credential"}
_ICE_SCHEMES = ("stun:", "turn:", "turns:")


class CallRefused(LifecycleError):
    """A call, an answer or a signal that the appeal or the call's state does not allow."""

    code = "call_refused"


class IceServersError(ValueError):
    """ICE_SERVERS is not a list of ICE servers; the message says what to fix."""


def check_ice_servers(value: Any) -> list[dict[str, Any]]:
    """ICE_SERVERS as `RTCPeerConnection` takes them (a JSON string is parsed first)."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError as exc:
            raise IceServersError(f"ICE_SERVERS is not valid JSON: {exc}") from exc
    if not isinstance(value, list):
        raise IceServersError('ICE_SERVERS must be a JSON list, e.g. [{"urls": "stun:stun.example.ru"}]')
    servers = []
    for index, server in enumerate(value):
        where = f"ICE_SERVERS[{index}]"
        if not isinstance(server, dict):
            raise IceServersError(f"{where} must be an object with «urls»")
        unknown = set(server) - _ICE_KEYS
        if unknown:
            raise IceServersError(f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(_ICE_KEYS)}")
        urls = server.get("urls")
        url_list = [urls] if isinstance(urls, str) else urls
        if not isinstance(url_list, list) or not url_list:
            raise IceServersError(f"{where}.urls must be a URL or a non-empty list of URLs")
        for url in url_list:
            if not isinstance(url, str) or not url.startswith(_ICE_SCHEMES):
                raise IceServersError(f"{where}.urls: {url!r} is not a stun:, turn: or turns: URL")
        if any(url.startswith(("turn:", "turns:")) for url in url_list) and not (
            isinstance(server.get("username"), str) and isinstance(server.get("credential"), str)
        ):
            raise IceServersError(f"{where}: a TURN server needs «username» and «credential»")
        servers.append(dict(server))
    return servers


def init_calls(app: Flask) -> None:
    """Defaults and a check of the call settings, at start-up (a bad setting stops the app)."""
    app.config.setdefault("ICE_SERVERS", [])
    app.config.setdefault("CALL_RING_SECONDS", 45)
    app.config["ICE_SERVERS"] = check_ice_servers(app.config["ICE_SERVERS"])
    app.config["CALL_RING_SECONDS"] = float(app.config["CALL_RING_SECONDS"])


#: The clock a call's talk is timed on (monotonic seconds); tests put one there that they
#: move on by hand, instead of waiting while a call "talks".
talk_clock: Callable[[], float] = time.monotonic


@dataclass
class CallTimes:
    """When a call was placed, answered and ended, as this server saw it."""

    placed_at: datetime = field(default_factory=utcnow)
    answered_at: datetime | None = None
    _answered_mono: float | None = None

    def answered(self) -> None:
        self.answered_at = utcnow()
        self._answered_mono = talk_clock()

    def talk_seconds(self) -> int:
        """Seconds of conversation (0 if nobody answered)."""
        if self._answered_mono is not None:
            return max(0, round(talk_clock() - self._answered_mono))
        if self.answered_at is not None:  # answered in another process: only its wall clock is known
            return max(0, round((utcnow() - self.answered_at).total_seconds()))
        return 0

    def to_json(self) -> dict[str, str | None]:
        return {
            "placed_at": self.placed_at.isoformat(),
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallTimes:
        answered = data.get("answered_at")
        return cls(
            placed_at=datetime.fromisoformat(data["placed_at"]),
            answered_at=datetime.fromisoformat(answered) if answered else None,
        )


def outcome_for_hangup(answered: bool, failed: bool) -> str:
    """How a call ended by a party ends: a failure, a finished talk, or a call nobody took."""
    if failed:
        return CallOutcome.FAILED
    return CallOutcome.COMPLETED if answered else CallOutcome.MISSED


def record_call(
    call_id: str,
    appeal_id: str,
    caller_id: str,
    mode: str,
    outcome: str,
    times: CallTimes,
    *,
    duration_s: int | None = None,
    detail: str = "",
) -> CallLog:
    """The call's one log row (under the call's own id), written by the server of the side that placed it."""
    with database.atomic():
        return CallLog.create(
            id=call_id,
            appeal=appeal_id,
            caller=caller_id,
            mode=mode,
            started_at=times.placed_at,
            ended_at=utcnow(),
            duration_s=times.talk_seconds() if duration_s is None else duration_s,
            outcome=outcome,
            detail=detail[:500],
        )


def record_call_from(
    app: Flask,
    call_id: str,
    appeal_id: str,
    caller_id: str,
    mode: str,
    outcome: str,
    times: CallTimes,
    *,
    duration_s: int | None = None,
    detail: str = "",
    then: Callable[[], None] | None = None,
) -> None:
    """`record_call` from a socket handler or a timer thread (with or without an app context);
    `then` runs after the row is stored (e.g. to announce it). Logs instead of raising: a call
    that ended must not take its caller down because its log row could not be written."""

    def write() -> None:
        record_call(call_id, appeal_id, caller_id, mode, outcome, times, duration_s=duration_s, detail=detail)
        if then is not None:
            then()

    try:
        if has_app_context():
            write()
        else:
            with app.app_context():
                write()
    except Exception:
        log.exception("could not record call %s", call_id)


def call_log(appeal: Appeal) -> list[CallLog]:
    """The appeal's calls, latest first."""
    return list(
        CallLog.live().where(CallLog.appeal == appeal).order_by(CallLog.started_at.desc(), CallLog.hlc.desc())
    )


def call_log_json(row: CallLog) -> dict[str, Any]:
    return {
        "id": row.id,
        "appeal": row.appeal_id,
        "caller": {"id": row.caller.id, "full_name": row.caller.full_name},
        "mode": row.mode,
        "started_at": iso(row.started_at),
        "ended_at": iso(row.ended_at),
        "duration_s": row.duration_s,
        "outcome": row.outcome,
    }


#: Why a call ended, as the pages show it (msgids; the pages translate them).
END_REASONS = {
    CallOutcome.COMPLETED: N_("Звонок завершён"),
    CallOutcome.DECLINED: N_("Звонок отклонён"),
    CallOutcome.MISSED: N_("Нет ответа"),
    CallOutcome.FAILED: N_("Звонок не удался"),
}


def register_call_globals(bp: Blueprint, may_call: Callable[[Appeal], bool], endpoint: str) -> None:
    """The appeal page's template globals, the same at both ends: whether this user may call,
    «Звонки», and what the call script needs (appeal, ICE servers, where to reload the log)."""

    def calls_may_call(appeal: Appeal) -> bool:
        return may_call(appeal)

    def calls_log(appeal: Appeal) -> list[CallLog]:
        return call_log(appeal)

    def calls_panel(appeal: Appeal) -> dict[str, Any]:
        return {
            "appeal": appeal.id,
            "ice_servers": current_app.config["ICE_SERVERS"],
            "log_url": url_for(endpoint, appeal_id=appeal.id),
            "may_call": may_call(appeal),
        }

    for function in (calls_may_call, calls_log, calls_panel):
        bp.add_app_template_global(function)


def data_field(data: Any, name: str) -> str:
    """A string field of a socket event's payload ("" when absent or not a dict)."""
    return str(data.get(name, "")) if isinstance(data, dict) else ""


def answering(handler: Callable[P, dict[str, Any]]) -> Callable[P, dict[str, Any]]:
    """A call event handler whose refusals become the page's acknowledgement, in its language."""

    @functools.wraps(handler)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> dict[str, Any]:
        try:
            return handler(*args, **kwargs)
        except CallRefused as exc:
            return {"ok": False, "message": translate_error(exc)}

    return wrapped
