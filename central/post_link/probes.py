"""Node-facing link probes at /sync/link/v1: bytes down, bytes up, and what the download cost.

Every request is signed by the node's key and checked by
`sync.server.authenticate` (unknown, revoked, replayed and unsigned requests
are refused as by the sync API). The probes are bounded so that a node — or
someone holding a stolen key — cannot use central as a traffic generator:
`MAX_PROBE_BYTES` per request, `bytes_per_minute` per node (both ways
together), and a paced download may last `MAX_PACED_S` at most.
The round trip is measured with the sync API's unsigned ping (/sync/v1/ping).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import NotFound, RequestEntityTooLarge, TooManyRequests

from domain.errors import ValidationError
from i18n import N_
from runtime.tcpinfo import TcpCounters, tcp_counters
from sync.errors import UnsignedError
from sync.request_signing import HEADERS
from sync.wire import decode

from ..sync_api.nodes import request_node
from .store import parse_measurement, save_measurement

__all__ = ["node_bp", "MAX_PROBE_BYTES", "BYTES_PER_MINUTE", "MAX_PACED_S", "LINK_PATH"]

LINK_PATH = "/sync/link/v1"
#: The largest single probe, either way (a measurement's largest is 512 KiB).
MAX_PROBE_BYTES = 1024 * 1024
#: What one node may move through the probes in a minute, both ways together:
#: one measurement takes at most ~1.9 MiB, so this allows four a minute, no more.
#: (Counted per central process: with N instances a node gets N times this at most.)
BYTES_PER_MINUTE = 8 * 1024 * 1024
#: A paced download may tie up a server thread this long at most.
MAX_PACED_S = 5.0
#: Largest report body accepted (a measurement is ~300 bytes).
_MAX_REPORT = 16 * 1024
_PROBE_ID = re.compile(r"^[0-9a-f]{8,32}$")
# Random, so that nothing on the way can compress it; served in slices.
_NOISE = os.urandom(256 * 1024)

node_bp = Blueprint("linkcheck_nodes", __name__, url_prefix=LINK_PATH)


class _Allowance:
    """Bytes each node moved through the probes in the last minute (this process only)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spent: dict[str, deque[tuple[float, int]]] = {}

    def charge(self, node_id: str, size: int, limit: int) -> None:
        now = time.monotonic()
        with self._lock:
            spent = self._spent.setdefault(node_id, deque())
            while spent and spent[0][0] < now - 60:
                spent.popleft()
            if sum(n for _, n in spent) + size > limit:
                raise TooManyRequests(description=N_("Слишком частая проверка связи: повторите через минуту"))
            spent.append((now, size))


class _SentLedger:
    """What serving a paced download cost on the wire, kept a minute for the node to ask."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._entries: dict[tuple[str, str], tuple[float, TcpCounters | None]] = {}

    def put(self, key: tuple[str, str], counters: TcpCounters | None) -> None:
        now = time.monotonic()
        with self._lock:
            for old in [k for k, (at, _) in self._entries.items() if at < now - 60]:
                del self._entries[old]
            self._entries[key] = (now, counters)
            self._lock.notify_all()

    def wait(self, key: tuple[str, str], timeout: float) -> tuple[bool, TcpCounters | None]:
        with self._lock:
            found = self._lock.wait_for(lambda: key in self._entries, timeout)
            return found, self._entries[key][1] if found else None


_allowance = _Allowance()
_ledger = _SentLedger()



def _limit() -> int:
    return int(current_app.config.get("LINK_PROBE_BYTES_PER_MINUTE", BYTES_PER_MINUTE))


def _size(raw: str | None) -> int:
    try:
        size = int(raw or "")
    except ValueError as exc:
        raise ValidationError(N_("Размер пробы должен быть числом байт"), field="bytes") from exc
    if size < 1:
        raise ValidationError(N_("Размер пробы должен быть числом байт"), field="bytes")
    if size > MAX_PROBE_BYTES:
        raise RequestEntityTooLarge(
            description=N_("Проба больше %(limit)s байт не допускается") % {"limit": MAX_PROBE_BYTES}
        )
    return size


def _connection_socket() -> socket.socket | None:
    """The client's TCP socket, where the WSGI server lets us see it (werkzeug, gunicorn)."""
    sock = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
    return sock if isinstance(sock, socket.socket) else None


@node_bp.get("/down")
def down() -> Any:
    """N random bytes (`bytes`); `pace` (bytes/s) sends them at that rate, and `probe` keeps
    what sending them cost (TCP retransmissions) for `/sent/<probe>`."""
    node = request_node()
    size = _size(request.args.get("bytes"))
    pace: float | None = None
    if request.args.get("pace"):
        try:
            pace = float(request.args["pace"])
        except ValueError as exc:
            raise ValidationError(N_("Темп пробы должен быть числом"), field="pace") from exc
        if pace < 1000 or size / pace > MAX_PACED_S:
            raise ValidationError(
                N_("Проба с таким темпом заняла бы больше %(s)s с"), field="pace", s=int(MAX_PACED_S)
            )
    probe = request.args.get("probe")
    if probe is not None and not _PROBE_ID.match(probe):
        raise ValidationError(N_("Неверный номер пробы"), field="probe")
    _allowance.charge(node.node_id, size, _limit())
    sock = _connection_socket()
    before = tcp_counters(sock)
    key = (node.node_id, probe) if probe else None

    def body() -> Iterator[bytes]:
        started = time.monotonic()
        sent = 0
        # Paced: a kilobyte at a time, so that no burst queues up at a shaper on the way.
        step = 1024 if pace else 64 * 1024
        complete = False
        try:
            while sent < size:
                n = min(step, size - sent)
                start = sent % (len(_NOISE) - step)
                yield _NOISE[start : start + n]
                sent += n
                if pace:
                    wait = started + sent / pace - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
            complete = True
        finally:
            # Cut short by the node (its time was up) or not: what it cost so far counts.
            if key is not None:
                _ledger.put(key, _settled_cost(sock, before) if complete else _cost(sock, before))

    response = Response(body(), mimetype="application/octet-stream")
    response.headers["Content-Length"] = str(size)
    response.headers["Cache-Control"] = "no-store"
    return response


def _cost(sock: socket.socket | None, before: TcpCounters | None) -> TcpCounters | None:
    now = tcp_counters(sock)
    return None if now is None or before is None else now - before


def _settled_cost(sock: socket.socket | None, before: TcpCounters | None) -> TcpCounters | None:
    """Counters since `before`, read once the peer has acknowledged everything (≤ 3 s)."""
    if before is None:
        return None
    deadline = time.monotonic() + 3.0
    while True:
        now = tcp_counters(sock)
        if now is None:
            return None
        if now.unacked == 0 or time.monotonic() > deadline:
            return now - before
        time.sleep(0.01)


@node_bp.get("/sent/<probe>")
def sent(probe: str) -> Any:
    """What the paced download `probe` cost: segments sent, retransmitted, and of those spurious
    (all 0: this server cannot read its sockets' counters)."""
    node = request_node()
    if not _PROBE_ID.match(probe):
        raise ValidationError(N_("Неверный номер пробы"), field="probe")
    found, counters = _ledger.wait((node.node_id, probe), timeout=3.0)
    if not found:
        raise NotFound(description=N_("Такой пробы этот центр не отправлял"))
    if counters is None:
        counters = TcpCounters(segments=0, retransmitted=0, spurious=0)
    counted = counters.as_dict()
    for local in ("unacked", "acked_bytes"):
        counted.pop(local)
    return jsonify(counted)


@node_bp.post("/up")
def up() -> Any:
    """Swallow the request body (random bytes); say how many arrived, and how long they took
    from the first read to the last (the node's rate without its connection set-up)."""
    if not request.headers.get(HEADERS.NODE) or not request.headers.get(HEADERS.SIGNATURE):
        raise UnsignedError(N_("Запрос не подписан ключом узла"))
    length = request.content_length
    if length is None:
        raise ValidationError(N_("В запросе нет длины тела"))
    if length > MAX_PROBE_BYTES:
        raise RequestEntityTooLarge(
            description=N_("Проба больше %(limit)s байт не допускается") % {"limit": MAX_PROBE_BYTES}
        )
    chunks: list[bytes] = []
    first_at = last_at = 0.0
    while chunk := request.stream.read(64 * 1024):
        last_at = time.monotonic()
        if not chunks:
            first_at = last_at
        chunks.append(chunk)
    body = b"".join(chunks)
    node = request_node(body)
    _allowance.charge(node.node_id, len(body), _limit())
    return jsonify(
        received=len(body),
        after_first=len(body) - (len(chunks[0]) if chunks else 0),
        seconds=round(last_at - first_at, 6),
    )


@node_bp.post("/report")
def report() -> Any:
    """A kiosk's latest measurement and the mode it offers (pushed when it measures)."""
    node = request_node()
    body = request.get_data(cache=True)
    if len(body) > _MAX_REPORT:
        raise RequestEntityTooLarge(description=N_("Отчёт о связи слишком велик"))
    data = decode(body, gzipped=request.headers.get("Content-Encoding") == "gzip") if body else None
    save_measurement(node, parse_measurement(data))
    return jsonify(ok=True)
