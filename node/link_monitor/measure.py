"""How good this post's link to central is, and which consultation mode it can sustain.

`measure_link` probes central for a few seconds; `offered_mode` turns the
figures into a mode by the thresholds in `NEEDS` — the one place they live.

What is measured, against central itself (the path a call's signalling and a
TURN relay at the centre take):

- **round trip**: up to seven unsigned pings (`/sync/v1/ping`) on one
  connection; the median, the first (connection set-up) left out when others
  answered. The pings also give central's clock, so the signed probes below
  work on a kiosk whose clock is wrong.
- **throughput** down and up: central serves / swallows N random bytes
  (`/sync/link/v1/down`, `/sync/link/v1/up`, signed like every node request,
  bounded in size and rate by central). N grows ×4 from 2 KiB while a transfer
  takes under 0.3 s, the next one fits the budget, and the rate is not yet shown
  to be twice what video needs over 32 KiB or more: neither a slow link nor a
  fast (maybe metered) one is filled just to measure it; the rate is the last
  transfer's, timed from its first byte to its last (down: as read here; up:
  as central read it, for all but the small ones), so that neither the round
  trip nor a stalled connection set-up (a lost SYN costs a second) counts; a
  transfer that stalled is tried once more.
- **loss**: the share of segments TCP had to retransmit (Linux TCP_INFO), less
  those the receiver reported as duplicates (D-SACK: a retransmission after a
  late, not a lost, acknowledgement), on a transfer *paced at half the measured
  rate*, a kilobyte at a time, each way: a bulk transfer fills the bottleneck's
  queue and loses packets to congestion that a call, which paces itself below
  capacity, would not see. The download's counters are read by central on its
  socket and fetched afterwards (`/sync/link/v1/sent/…`); the upload's on ours.
  The probes ask for 536-byte segments (more of them for the same bytes); with
  fewer than 30 in a direction (in the default budget: links below ~400
  kbit/s, where video is out anyway) its loss is left unknown, and an unknown
  loss is not held against the link — there bandwidth and round trip decide.
  The worse direction counts. Behind a proxy central sees only its own hop, so the download's loss
  is then unknown.

All phases use one connection for as long as the server keeps it open
(werkzeug's closes it after every answer: each request then sets up anew).
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from i18n import N_
from runtime.tcpinfo import TcpCounters, tcp_counters
from sync.session import PING_PATH, CentralSession, offset_from, received_at
from web.errors import USER_ERRORS

__all__ = [
    "LinkQuality",
    "unmeasured",
    "ModeNeeds",
    "NEEDS",
    "MODES",
    "VIDEO",
    "AUDIO",
    "CHAT",
    "DEFERRED",
    "MODE_LABELS",
    "measure_link",
    "offered_mode",
    "save_latest",
    "load_latest",
    "LINK_PATH",
    "MAX_PROBE_BYTES",
]

#: Where central serves the probes (central/post_link); the ping is the sync API's.
LINK_PATH = "/sync/link/v1"
#: The largest transfer the node asks for (central refuses anything above 1 MiB).
MAX_PROBE_BYTES = 512 * 1024
FIRST_PROBE_BYTES = 2 * 1024
#: A transfer at least this long gives a rate worth keeping.
ENOUGH_S = 0.3
#: Past twice what video needs no mode is better: a transfer of SURE_BYTES at this rate
#: ends the growing (a fast link is not filled for nothing: it may be metered).
ENOUGH_KBPS = 1200.0
SURE_BYTES = 32 * 1024
#: The largest loss probe, about 90 full segments: fewer cannot tell 3 % from 6 %.
MAX_LOSS_PROBE_BYTES = 128 * 1024
#: The fewest segments that make a loss figure, and the segment size the loss probes ask
#: for (small, so that a link of under a megabit still sends enough of them in the time).
LOSS_MIN_SEGMENTS = 30
LOSS_MSS = 536
#: The share of a loss probe's time its data may take: the rest is for retransmissions.
LOSS_FILL = 0.7
LATEST_FILE = "link-quality.json"

VIDEO, AUDIO, CHAT, DEFERRED = "video", "audio", "chat", "deferred"
MODES = (VIDEO, AUDIO, CHAT, DEFERRED)
MODE_LABELS = {
    VIDEO: N_("видео"),
    AUDIO: N_("только звук"),
    CHAT: N_("только чат"),
    DEFERRED: N_("отложенная консультация"),
}


@dataclass(frozen=True)
class ModeNeeds:
    """What a mode needs of the link: throughput both ways, round trip, loss."""

    min_kbps: float
    max_rtt_ms: float
    max_loss_pct: float


#: Best mode first; a link that meets none gets DEFERRED (store-and-forward: the
#: appeal goes on asynchronously with its attachments).
#:
#: - video: a 640×360 VP8/H.264 stream needs 300–500 kbit/s, plus ~50 for audio
#:   and RTP/RTCP; WebRTC's congestion control keeps 15–20 % headroom, and the
#:   post sends video too (the patient), so ≥ 600 kbit/s *both* ways. Above 5 %
#:   loss NACK and FEC no longer keep the picture usable. Beyond 800 ms round trip
#:   (ITU-T G.114 puts the limit of acceptable one-way delay at 400 ms) a video
#:   call is more frustrating than an audio one.
#: - audio: Opus speech at 24–32 kbit/s plus IP/UDP/RTP/SRTP headers at 50 packets
#:   a second is ~50–56 kbit/s: ≥ 64 kbit/s both ways; Opus's concealment and
#:   in-band FEC carry up to ~10 % loss; past a 1 s round trip people talk over
#:   each other.
#: - chat: a message is a few hundred bytes plus HTTP/Socket.IO framing (~1–2 kB):
#:   ≥ 8 kbit/s brings it across in a second or two; up to a 5 s round trip and
#:   30 % loss a conversation by text still works. A throughput that could not be
#:   measured (an older central without the probes) does not fail chat: the pings
#:   got through.
NEEDS: dict[str, ModeNeeds] = {
    VIDEO: ModeNeeds(min_kbps=600, max_rtt_ms=800, max_loss_pct=5),
    AUDIO: ModeNeeds(min_kbps=64, max_rtt_ms=1000, max_loss_pct=10),
    CHAT: ModeNeeds(min_kbps=8, max_rtt_ms=5000, max_loss_pct=30),
}


@dataclass
class LinkQuality:
    """One measurement of the link to central; None where a figure could not be had."""

    rtt_ms: float | None
    down_kbps: float | None
    up_kbps: float | None
    loss_pct: float | None
    measured_at: datetime
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["measured_at"] = self.measured_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkQuality:
        """The inverse of `as_dict` (ValueError/KeyError/TypeError on anything else)."""

        def figure(name: str) -> float | None:
            value = data.get(name)
            return None if value is None else float(value)

        at = datetime.fromisoformat(str(data["measured_at"]))
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        error = data.get("error")
        return cls(
            rtt_ms=figure("rtt_ms"),
            down_kbps=figure("down_kbps"),
            up_kbps=figure("up_kbps"),
            loss_pct=figure("loss_pct"),
            measured_at=at,
            error=None if error is None else str(error),
        )


def offered_mode(q: LinkQuality | None) -> str:
    """The best mode the measured link sustains: "video", "audio", "chat" or "deferred"."""
    if q is None or q.rtt_ms is None:
        return DEFERRED
    for mode, needs in NEEDS.items():
        if q.rtt_ms > needs.max_rtt_ms:
            continue
        if q.loss_pct is not None and q.loss_pct > needs.max_loss_pct:
            continue
        rates = (q.down_kbps, q.up_kbps)
        if mode == CHAT:
            if any(rate is not None and rate < needs.min_kbps for rate in rates):
                continue
        elif any(rate is None or rate < needs.min_kbps for rate in rates):
            continue
        return mode
    return DEFERRED


# -- the latest result, kept in the data directory -----------------------------------


def save_latest(data_dir: Path, q: LinkQuality) -> None:
    """Keep `q` as this node's latest measurement (atomically replaced)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".link")
    with os.fdopen(fd, "w") as out:
        json.dump(q.as_dict(), out, ensure_ascii=False)
    os.replace(tmp, data_dir / LATEST_FILE)


def load_latest(data_dir: Path) -> LinkQuality | None:
    """The latest measurement kept, or None if there is none (or it is unreadable)."""
    try:
        return LinkQuality.from_dict(json.loads((data_dir / LATEST_FILE).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


# -- measuring ------------------------------------------------------------------------


class _Refused(Exception):
    """Central answered a probe with an error (message from its JSON body)."""


class _UploadCut(TimeoutError):
    """An upload did not finish in time: how much of it the network acknowledged, in how long."""

    def __init__(self, acked: int, seconds: float) -> None:
        super().__init__(f"{acked} bytes acknowledged in {seconds:.2f} s")
        self.acked = acked
        self.seconds = seconds


def _reason(exc: BaseException) -> str:
    """Why a connection failed, in the feldsher's words (the page shows it; the class name is
    for the log)."""
    if isinstance(exc, ConnectionRefusedError):
        return "соединение отклонено"
    if isinstance(exc, TimeoutError):
        return "нет ответа вовремя"
    if isinstance(exc, ConnectionError | http.client.HTTPException):
        return "соединение прервано"
    if isinstance(exc, ValueError):
        return "непонятный ответ центра"
    return "сеть недоступна"


def measure_link(central: CentralSession, *, budget_s: float = 6.0) -> LinkQuality:
    """Measure round trip, throughput both ways and loss to central within about `budget_s`."""
    at = datetime.now(UTC)
    try:
        probe = _Probe(central, budget_s)
    except (OSError, ValueError, *USER_ERRORS) as exc:
        return unmeasured(exc, at)
    try:
        return probe.run(at)
    finally:
        probe.close()


def unmeasured(exc: BaseException, at: datetime | None = None) -> LinkQuality:
    """The result when nothing can be sent: node.key does not open (sealed under a data key
    this process has not opened) or central's address does not parse."""
    error = f"{N_('Ключ или адрес центра не читаются')}: {exc}"
    return LinkQuality(None, None, None, None, at or datetime.now(UTC), error=error)


class _Probe:
    """One measurement: phases in order, each with its share of the budget."""

    def __init__(self, central: CentralSession, budget_s: float) -> None:
        parts = urlsplit(central.base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {central.base!r}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.central = central
        self.budget_s = budget_s
        self.started = time.monotonic()
        self.deadline = self.started + budget_s
        self.clock_offset_ms = 0
        self.rtt_min_s = 0.0
        self.notes: list[str] = []
        # One kept-alive connection for every phase: a new one costs a round trip, and on
        # a lossy link a lost SYN costs a whole second. (It reconnects if a phase cut it.)
        self._conn: http.client.HTTPConnection | None = None
        self._small: http.client.HTTPConnection | None = None  # LOSS_MSS-byte segments

    # -- plumbing --------------------------------------------------------------

    def _connection(self, timeout: float, small_segments: bool = False) -> http.client.HTTPConnection:
        """The measurement's connection, or the loss probes' (opened on first use)."""
        conn = self._small if small_segments else self._conn
        if conn is None:
            if self.https:
                conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=timeout, context=self.central.ssl_context()
                )
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            if small_segments:
                conn._create_connection = _small_segment_connect  # type: ignore[attr-defined]
                self._small = conn
            else:
                self._conn = conn
        conn.timeout = timeout
        return conn

    def close(self) -> None:
        for conn in (self._conn, self._small):
            if conn is not None:
                conn.close()

    def left(self, until: float | None = None) -> float:
        return min(until or self.deadline, self.deadline) - time.monotonic()

    def share(self, fraction: float) -> float:
        """A phase deadline: `fraction` of the whole budget from now, within the budget."""
        return min(time.monotonic() + fraction * self.budget_s, self.deadline)

    def _signed(self, method: str, path: str, body: bytes = b"") -> dict[str, str]:
        return self.central.sign(method, path, body, clock_offset_ms=self.clock_offset_ms)

    @staticmethod
    def _check(response: http.client.HTTPResponse) -> bytes:
        body = response.read()
        if response.status >= 400:
            try:
                message = str(json.loads(body).get("message") or response.reason)
            except (ValueError, AttributeError):
                message = f"HTTP {response.status}"
            raise _Refused(message)
        return body

    # -- the phases --------------------------------------------------------------

    def run(self, at: datetime) -> LinkQuality:
        try:
            rtt_ms = self.pings(self.share(0.15))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            return LinkQuality(None, None, None, None, at, error=f"{N_('Центр не отвечает')}: {_reason(exc)}")
        # Each direction: its rate, then its loss at half that rate (the loss is what tells a
        # fast but lossy link, so it must not be the phase that the budget runs out before).
        down = self._phase(N_("приём"), lambda: self.download_rate(self.share(0.2)))
        losses = [self._phase(N_("потери при приёме"), lambda: self._loss_down(down, self.share(0.25)))]
        up = self._phase(N_("передача"), lambda: self.upload_rate(self.share(0.2)))
        losses.append(self._phase(N_("потери при передаче"), lambda: self._loss_up(up, self.deadline)))
        known = [figure for figure in losses if figure is not None]
        loss = max(known) if known else None  # the worse direction limits a call
        return LinkQuality(
            rtt_ms=round(rtt_ms, 1),
            down_kbps=None if down is None else round(down * 8 / 1000, 1),
            up_kbps=None if up is None else round(up * 8 / 1000, 1),
            loss_pct=None if loss is None else round(loss, 2),
            measured_at=at,
            error="; ".join(self.notes) or None,
        )

    def _phase(self, name: str, step: Callable[[], float | None]) -> float | None:
        """Run one phase; a refusal or a broken connection is noted, not raised."""
        try:
            return step()
        except _Refused as exc:
            self.notes.append(f"{name}: {exc}")
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self.notes.append(f"{name}: {_reason(exc)}")
        self.close()  # whatever state the failure left them in: the next phase reconnects
        return None

    def pings(self, until: float) -> float:
        """Median round trip in ms (≥ 1 answer, up to 7); sets central's clock offset."""
        conn = self._connection(timeout=max(0.5, self.left() / 2))
        rtts: list[float] = []
        offsets: list[float] = []
        for i in range(7):
            if i > 0 and self.left(until) <= 0:
                break
            if conn.sock is not None:
                conn.sock.settimeout(max(0.2, self.left() if i == 0 else self.left(until)))
            sent = time.monotonic()
            wall = time.time()
            try:
                conn.request("GET", self.prefix + PING_PATH)
                body = self._check(conn.getresponse())
            except (OSError, http.client.HTTPException):
                conn.close()  # mid-request: the next phase starts afresh
                if not rtts:
                    raise
                break  # a late answer: the ones we have will do
            rtts.append(time.monotonic() - sent)
            pong = json.loads(body)
            offsets.append(
                offset_from(float(pong["server_time_ms"]), wall, wall + rtts[-1], received_at(pong))
            )
        # The first ping also paid for the connection (and TLS) set-up.
        steady = rtts[1:] or rtts
        self.rtt_min_s = min(steady)
        self.clock_offset_ms = int(statistics.median(offsets))
        return statistics.median(steady) * 1000

    def download_rate(self, until: float) -> float:
        """Bytes per second down, growing the transfer (×4 from 2 KiB) while it is quick.

        Each transfer is timed from its first byte to its last, so the round trip does not
        count. One whose first byte came late (a lost SYN costs a second) and then arrived
        all at once says only that the link is fast: the next, larger one is tried. On a
        slow link the transfer is cut when the time is up; what came until then gives the
        rate. The first transfer may take 2.2 s, whatever the phase's share: long enough
        to get past one stalled connection set-up."""
        conn = self._connection(timeout=max(0.2, self.left(until)))
        size, best = FIRST_PROBE_BYTES, 0.0
        first_until = min(max(until, time.monotonic() + 2.2), self.deadline)
        while True:
            got, seconds, complete, waited, timed = self._download(
                conn, size, first_until if size == FIRST_PROBE_BYTES else until
            )
            rate = got / seconds
            if not complete:
                return max(best, rate)
            if timed or waited <= 2 * self.rtt_min_s + 0.3:
                best, took = rate, size / rate
                if _enough(size, rate, took):
                    return best
            else:
                best, took = max(best, got / (seconds + waited)), 0.0  # fast, by how much unknown
            if size >= MAX_PROBE_BYTES or self.rtt_min_s + 4 * took + 0.05 > self.left(until):
                return best
            size = min(size * 4, MAX_PROBE_BYTES)

    def _download(
        self, conn: http.client.HTTPConnection, size: int, until: float, *, query: str = ""
    ) -> tuple[int, float, bool, float, bool]:
        """(bytes to count, their seconds, whether all came before `until`, seconds to the
        first byte, whether timed from first byte to last)."""
        path = f"{self.prefix}{LINK_PATH}/down?bytes={size}{query}"
        if conn.sock is None:
            conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(max(0.05, self.left(until)))  # for the request and its answer
        sent = time.monotonic()
        conn.request("GET", path, headers=self._signed("GET", path))
        try:
            response = conn.getresponse()
        except TimeoutError:
            # Not even the first bytes in the time there was: as good as nothing got through.
            conn.close()
            waited = max(time.monotonic() - sent, 0.001)
            return 1, waited, False, waited, False
        if response.status >= 400:
            self._check(response)
        got = first_len = 0
        first = last = sent
        complete = True
        try:
            while got < size:
                if self.left(until) <= 0:
                    complete = False
                    break
                if conn.sock is not None:
                    conn.sock.settimeout(max(0.05, self.left(until)))
                chunk = response.read1(65536)
                if not chunk:
                    complete = False
                    break
                last = time.monotonic()
                if got == 0:
                    first, first_len = last, len(chunk)
                got += len(chunk)
        except TimeoutError:
            complete = False
        if not complete:
            conn.close()  # the rest is still on its way
            last = time.monotonic()  # we waited this long for more: it counts
        if got == 0:
            return 1, max(last - sent, 0.001), complete, last - sent, False
        # First byte to last, without the first read: it may hold what a shaper let through
        # in a burst, and the time before it is the round trip, not the link's rate.
        if got > first_len and last > first:
            return got - first_len, last - first, complete, first - sent, True
        return got, _transfer_time(last - sent, self.rtt_min_s), complete, first - sent, False

    def upload_rate(self, until: float) -> float:
        """Bytes per second up, growing the transfer (×4 from 2 KiB) while it is quick.

        Central times each upload from the first byte it reads to the last, so that a stall
        setting up the connection does not count; a transfer that arrived in one read (a
        small one on a fast link) is timed here, from request to answer less a round trip.
        Such a transfer that took long may have been slow or may have stalled where we cannot
        see it (a lost SYN between a proxy and central costs a second): it is sent once more,
        the phase lengthened for it, and the faster of the two counts."""
        conn = self._connection(timeout=max(0.2, self.left(until)))
        size, rate, retried, slow_once = FIRST_PROBE_BYTES, None, False, 0.0
        while True:
            try:
                rate, timed_by_central = self._upload_rate_once(conn, size, until)
            except _UploadCut as cut:
                if rate is not None:
                    return rate  # the last that arrived (a cut retry leaves the first's)
                # Not even the first transfer arrived in time: what the network took of it.
                self.notes.append(N_("передача не уложилась в отведённое время"))
                return cut.acked / cut.seconds
            rate = max(rate, slow_once)  # the same size sent twice: a stall only slows one down
            slow_once, took = 0.0, size / rate
            if size >= MAX_PROBE_BYTES or (_enough(size, rate, took) and (timed_by_central or retried)):
                return rate
            if size >= SURE_BYTES and rate * 8 / 1000 >= ENOUGH_KBPS:
                return rate  # fast enough for anything: no need to fill the link
            if took >= ENOUGH_S:
                # Slow, or a stall we cannot see from here: the same size once more.
                # It gets twice its time: if it was a stall, the growing goes on after it.
                retried, slow_once = True, rate
                need = self.rtt_min_s + took + 0.05
                until = min(max(until, time.monotonic() + 2 * need), self.deadline)
                if need > self.left(until):
                    return rate
                continue
            if self.rtt_min_s + 4 * took + 0.05 > self.left(until):
                return rate
            size = min(size * 4, MAX_PROBE_BYTES)

    def _upload_rate_once(
        self, conn: http.client.HTTPConnection, size: int, until: float
    ) -> tuple[float, bool]:
        """(bytes per second, whether central timed it) of one upload of `size` bytes."""
        seconds, _, answer = self._upload(conn, size, until)
        after_first, read_s = int(answer.get("after_first", 0)), float(answer.get("seconds", 0.0))
        if after_first >= 16 * 1024 and read_s > 0.005:
            return after_first / read_s, True
        return size / seconds, False

    def _upload(
        self, conn: http.client.HTTPConnection, size: int, until: float, *, pace: float | None = None
    ) -> tuple[float, TcpCounters | None, dict[str, Any]]:
        """(transfer seconds seen here, our TCP counters over it, central's answer);
        _UploadCut if it does not finish in time."""
        body = os.urandom(size)
        path = f"{self.prefix}{LINK_PATH}/up"
        headers = self._signed("POST", path, body)
        headers |= {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        if conn.sock is None:
            conn.connect()
        assert conn.sock is not None
        sock = conn.sock
        sock.settimeout(max(0.05, self.left(until)))
        sent = time.monotonic()
        conn.putrequest("POST", path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        before = tcp_counters(sock)
        step = 1024 if pace else 65536  # paced: no burst to queue up at a shaper
        try:
            for offset in range(0, size, step):
                left = self.left(until)
                if left <= 0:
                    raise TimeoutError("upload did not finish in time")
                sock.settimeout(left)
                conn.send(body[offset : offset + step])
                if pace:
                    wait = sent + (offset + step) / pace - time.monotonic()
                    if wait > 0:
                        time.sleep(min(wait, max(0.0, self.left(until))))
            sock.settimeout(max(0.05, self.left(until)))
            answer = json.loads(self._check(conn.getresponse()))
        except TimeoutError as exc:
            now = tcp_counters(sock)
            conn.close()
            acked = (now - before).acked_bytes if now is not None and before is not None else 0
            raise _UploadCut(max(acked, 1), max(time.monotonic() - sent, 0.001)) from exc
        after = tcp_counters(sock)
        delta = after - before if after is not None and before is not None else None
        seconds = _transfer_time(time.monotonic() - sent, self.rtt_min_s)
        return seconds, delta, answer if isinstance(answer, dict) else {}

    def _paced_size(self, rate: float, seconds: float) -> tuple[float, int]:
        pace = max(2000.0, min(rate / 2, 250_000.0))
        return pace, min(int(pace * seconds), MAX_LOSS_PROBE_BYTES)

    def _loss_down(self, rate: float | None, until: float) -> float | None:
        """Lost share (%) of a paced download, as central counted it; None if not measurable."""
        if not rate:
            return None
        seconds = min(1.0, self.left(until) - 3 * self.rtt_min_s - 0.1)
        pace, size = self._paced_size(rate, seconds * LOSS_FILL)
        if seconds <= 0 or size < LOSS_MIN_SEGMENTS * LOSS_MSS:
            return None
        conn = self._connection(timeout=max(0.2, self.left(until)), small_segments=True)
        probe_id = secrets.token_hex(8)
        self._download(conn, size, until, query=f"&pace={int(pace)}&probe={probe_id}")
        # Cut short or not, central counted what it sent.
        path = f"{self.prefix}{LINK_PATH}/sent/{probe_id}"
        if conn.sock is None:
            conn.connect()
        assert conn.sock is not None
        conn.sock.settimeout(max(0.2, self.left() + 1.0))
        conn.request("GET", path, headers=self._signed("GET", path))
        counted = json.loads(self._check(conn.getresponse()))
        cost = TcpCounters(
            segments=int(counted["segments"]),
            retransmitted=int(counted["retransmitted"]),
            spurious=int(counted["spurious"]),
        )
        # All 0 when central cannot read its socket's counters (a proxy in between?).
        return cost.lost_pct(LOSS_MIN_SEGMENTS)

    def _loss_up(self, rate: float | None, until: float) -> float | None:
        """Lost share (%) of a paced upload, as our socket counted it; None if not measurable."""
        if not rate:
            return None
        seconds = min(1.0, self.left(until) - 2 * self.rtt_min_s - 0.1)
        pace, size = self._paced_size(rate, seconds * LOSS_FILL)
        if seconds <= 0 or size < LOSS_MIN_SEGMENTS * LOSS_MSS:
            return None
        conn = self._connection(timeout=max(0.2, self.left(until)), small_segments=True)
        _, delta, _ = self._upload(conn, size, until, pace=pace)
        return None if delta is None else delta.lost_pct(LOSS_MIN_SEGMENTS)


def _transfer_time(elapsed: float, rtt: float) -> float:
    """A transfer's own time from request to answer: less one round trip, but never taken as
    under a quarter of the whole (the round trip varies; a tiny transfer must not look infinite)."""
    return max(elapsed - rtt, elapsed / 4, 0.001)


def _enough(size: int, rate: float, took: float) -> bool:
    """Whether a transfer of `size` bytes at `rate` (bytes/s) over `took` s ends the growing."""
    return took >= ENOUGH_S or (size >= SURE_BYTES and rate * 8 / 1000 >= ENOUGH_KBPS)


def _small_segment_connect(
    address: tuple[str, int], timeout: float | None = None, source_address: Any = None, *_: Any
) -> socket.socket:
    """socket.create_connection, asking the peer for LOSS_MSS-byte segments (in the SYN)."""
    host, port = address
    error: OSError | None = None
    for family, kind, proto, _name, target in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, LOSS_MSS)
            if timeout is not None:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(target)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError(f"cannot resolve {host}")
