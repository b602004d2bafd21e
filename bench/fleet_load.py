"""A fleet of really enrolled, simulated posts against central served as in production.

Central runs as `--instances` real instances on one fresh PostgreSQL database with the Redis
message queue (README, «Scaling central»): `faplink central run --server gunicorn` (one
process, 64 threads serving HTTP and the links alike), or with `--gateway-workers N`
`faplink central run --workers N` (a supervisor, the asyncio realtime gateway on the port
holding every link, N gunicorn web workers behind it). The posts are spread over the
instances' ports (no proxy). Every post is a real registration:
an Organization and its feldsher in the directory, a one-time enrolment token
(`sync.server.issue_token`, what `faplink central issue-token` does) and `POST /sync/v1/enroll`
with the post's own Ed25519 key (`sync.client.request_enrolment`). No node process runs: each
post is a light client in this process that

- signs its requests with its own key through the node's `sync.session.CentralSession`
  (central's clock measured by ping, then by every hello, as the node does);
- holds its live link (the first `--linked` posts; all by default) with the node's own
  `node.live.link.CentralLink` (Socket.IO "/node", signed handshake, reconnect with
  backoff), whose «changes» trigger a round as they trigger the node's sync worker;
- runs rounds as the node's `SyncWorker` does: one every `--interval` s ±20 % without the
  link; with it up, one every `--safety-interval` s (default: `--interval`, i.e. polling as
  before push; the node's is 300) plus one whenever central says «changes» or the link comes
  up; the first spread over one interval, the first steady pause over one pause. A round
  with nothing to send is what `SyncClient.run_round` sends then: a pull from the post's
  cursor, with a signed hello before it only when the last no longer holds (every few
  minutes; `sync.client.LastHello`). The first `--pushers` posts push at every round a new
  patient and an emergency appeal (the domain's models, as `to_wire` gives them), the pull
  asked along with the push, as the node's last batch does; their feldshers write every
  `--interval` s, linked or not (a write starts a round at once).

Before the load each post pulls its scope once (its first sync, from cursor 0). Then the
links come up over `--ramp` s, the rounds start, and after `--warmup` s the steady window
of `--duration` s is measured. Every pushed record must be at central afterwards.

Prints `name: value` lines after `summary:` (medians of `--runs` runs): posts, instances,
links_held (median of 1 s samples in the window; also its minimum, the links' connection
attempts, failures by reason and drops), rounds_per_s, round_p50_ms / round_p95_ms,
rounds_woken_pct (started by the link, not the timer), changes_notices, errors and errors_pct
(failed rounds / rounds ended in the window, by reason), push_p95_ms, central_pss_mb (every
process of every instance, walked from /proc: proportional set size, the largest reading),
central_cpu_ms_per_round (their user + system CPU over the window, from /proc/<pid>/stat, ÷
rounds done), central_cpu_cores, both by kind of process, the simulator's own CPU (it shares
the machine with central), and the consultant's «Новые обращения» page timed on instance 1
during the window.

    .venv/bin/python bench/fleet_load.py [--posts 200] [--instances 1] [--duration 60]
        [--interval 15] [--safety-interval 300] [--gateway-workers 2] [--db-pool 20]
        [--pushers 50] [--runs 1] [--pg postgresql://root@127.0.0.1:5432/postgres]
        [--redis redis://127.0.0.1:6379/0] [--keep]

Only 127.0.0.1 is ever contacted. Whatever it started (central's processes, the links, the
database, the work directory unless `--keep`) is stopped and removed at the end, also on an
error or Ctrl+C.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import logging
import math
import os
import random
import re
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    REPO,
    code_version,
    free_port,
    start_process,
    stop_process,
    tcp_open,
    wait_until,
)
from queue_load import _pg, _pg_drop  # noqa: E402

PG_ADMIN = os.environ.get("FAPLINK_BENCH_PG", "postgresql://root@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("FAPLINK_BENCH_REDIS", "redis://127.0.0.1:6379/0")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
#: As the node's SyncWorker: a round's pause varies by this share either way.
JITTER = 0.2
#: The page size of a pull (the node's first batch size).
PULL_LIMIT = 200

log = logging.getLogger("fleet_load")


# -- the directory and the database ------------------------------------------------


def _local(url: str, what: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"{what} must be on 127.0.0.1, not {host!r}: this benchmark contacts nothing else")


@dataclass
class Directory:
    region_id: str
    centre_id: str
    specialty_id: str  # cardiology: what the pushers' appeals ask for
    posts: list[tuple[str, str]]  # (organization id, its feldsher's staff id)


def make_database(admin_url: str, name: str, posts: int) -> tuple[str, Directory]:
    """A fresh, migrated central database with the demo's directory and `posts` more posts of its
    region (each with a feldsher); its URL. Left bound (sync.db.database) for the tokens."""
    from domain.models import Organization, OrgKind, Role, Specialty, Staff
    from faplink.demo_seed import seed
    from sync.db import CENTRAL, bind_replica, database, open_database_url, replica
    from sync.migrations import migrate
    from sync.model import reserve_seqs
    from sync.state import CENTRAL_MIGRATIONS

    _pg_drop(admin_url, name)
    _pg(admin_url, (f'CREATE DATABASE "{name}"', ()))
    url = f"{admin_url.rsplit('/', 1)[0]}/{name}"
    db = open_database_url(url)
    migrate(db, CENTRAL_MIGRATIONS)
    bind_replica(CENTRAL)
    data = seed(days=1, weekends=True)
    clock = replica().clock
    seqs = iter(reserve_seqs(2 * posts))

    def insert(model: Any, items: list[dict[str, Any]]) -> list[str]:
        rows = [
            {
                "id": str(uuid.uuid4()),
                "origin": CENTRAL,
                "changed_by": CENTRAL,
                "hlc": clock.now(),
                "seq": next(seqs),
                **item,
            }
            for item in items
        ]
        with database.atomic():
            for start in range(0, len(rows), 500):
                model.insert_many(rows[start : start + 500]).execute()
        return [row["id"] for row in rows]

    orgs = insert(
        Organization,
        [
            {"name": f"ФАП нагрузочный №{n + 1}", "kind": OrgKind.POST, "region": data.region_id}
            for n in range(posts)
        ],
    )
    feldshers = insert(
        Staff,
        [
            {"last_name": "Фельдшер", "first_name": str(n + 1), "role": Role.FELDSHER, "organization": org}
            for n, org in enumerate(orgs)
        ],
    )
    cardiology = Staff.get_by_id(data.consultants["ivanova"]).specialty_id
    assert Specialty.get_by_id(cardiology)
    return url, Directory(data.region_id, data.centre_id, cardiology, list(zip(orgs, feldshers, strict=True)))


# -- central's processes -------------------------------------------------------------


def start_centrals(
    count: int,
    url: str,
    data_dir: Path,
    redis_url: str,
    logs: Path,
    gateway_workers: int = 0,
    db_pool: int | None = None,
) -> list[tuple[Any, str]]:
    """`count` instances on the database and Redis; (process, base URL) each. With
    `gateway_workers` 0 each is `central run --server gunicorn` (one process serving HTTP and
    the links on 64 threads); else `central run --workers N`: a supervisor starting the realtime
    gateway on the port and N gunicorn web workers behind it. The first is up before the others
    start, so that the shared data directory (session key, CA) is made once."""
    out: list[tuple[Any, str]] = []
    serving = ["--workers", str(gateway_workers)] if gateway_workers > 0 else ["--server", "gunicorn"]
    env = {"FAPLINK_MESSAGE_QUEUE": redis_url}
    if db_pool is not None:
        env["FAPLINK_DB_POOL"] = str(db_pool)
    for n in range(count):
        port = free_port()
        proc = start_process(
            [
                sys.executable,
                "-m",
                "faplink.cli",
                "central",
                "run",
                *serving,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data",
                str(data_dir),
                "--database-url",
                url,
            ],
            logs / f"central-{n + 1}.log",
            env=env,
            cwd=REPO,
        )
        out.append((proc, f"http://127.0.0.1:{port}"))
        wait_until(
            lambda port=port: tcp_open("127.0.0.1", port),
            120,
            f"central {n + 1} to listen",
            proc,
            logs / f"central-{n + 1}.log",
        )
        wait_until(
            lambda port=port: requests.get(f"http://127.0.0.1:{port}/sync/v1/ping", timeout=5).ok,
            60,
            f"central {n + 1} to answer",
            proc,
            logs / f"central-{n + 1}.log",
        )
    return out


def _role(pid: int, parent_roles: dict[int, str]) -> str:
    """What one of an instance's processes is, from its command line and its parent's role."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "gone"
    words = [a.decode(errors="replace") for a in argv]
    try:
        command = words[words.index("central") + 1]
    except (ValueError, IndexError):
        command = "other"
    if command == "gateway":
        return "gateway"
    if command == "web":  # gunicorn's master; its forks carry the same command line
        return "web_worker" if parent_roles.get(_ppid(pid)) in ("web_master", "web_worker") else "web_master"
    if command == "run":
        if "--workers" in words:
            return "supervisor"
        return "gunicorn_worker" if parent_roles.get(_ppid(pid)) == "gunicorn_master" else "gunicorn_master"
    return "other"


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def usage(pid: int) -> dict[str, tuple[float, float, int]]:
    """Every process of an instance (`pid` and its descendants, walked from /proc: the
    supervisor, the gateway, gunicorn's master and workers): by role, (CPU seconds so far,
    proportional resident MB, how many processes). PSS, not RSS: gunicorn's workers are forks
    of its master and share its pages, which RSS would count once per process."""
    from benchlib import _tree

    roles: dict[int, str] = {}
    out: dict[str, tuple[float, float, int]] = {}
    for one in _tree(pid):  # parents before their children
        role = roles[one] = _role(one, roles)
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
            rss = 0.0
            for line in Path(f"/proc/{one}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    rss = int(line.split()[1]) / 1024
        except (OSError, IndexError, ValueError):
            continue
        c, r, k = out.get(role, (0.0, 0.0, 0))
        out[role] = (c + cpu, r + rss, k + 1)
    return out


def total_usage(pids: list[int]) -> dict[str, tuple[float, float, int]]:
    """`usage` summed over instances, by role."""
    out: dict[str, tuple[float, float, int]] = {}
    for pid in pids:
        for role, (c, r, k) in usage(pid).items():
            c0, r0, k0 = out.get(role, (0.0, 0.0, 0))
            out[role] = (c0 + c, r0 + r, k0 + k)
    return out


# -- one simulated post ----------------------------------------------------------------


class RoundError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reason(exc: BaseException) -> str:
    """A short name for why a request failed: its kind, not its text (which names the post)."""
    from sync.errors import SyncError

    if isinstance(exc, RoundError):
        return exc.reason
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, SyncError) and isinstance(cause, requests.RequestException):
        return type(cause).__name__  # ReadTimeout, ConnectionError, …
    return type(exc).__name__


class Post:
    """A registered post as central sees it: its node id, key, session, pull cursor and link."""

    def __init__(self, index: int, organization: str, feldsher: str, base: str, timeout: float) -> None:
        from sync.request_signing import NodeKey
        from sync.session import CentralSession

        self.index = index
        self.node_id = f"fleet-{index + 1:05d}-{uuid.uuid4().hex[:6]}"
        self.organization = organization
        self.feldsher = feldsher
        self.base = base
        self.key = NodeKey.generate()
        self.session = CentralSession(base, self.node_id, self.key, verify=False, timeout=timeout)
        self.cursor = 0
        self.last_hello: Any = None  # sync.client.LastHello: what the post's last hello agreed
        self.link: Any = None
        self.clock: Any = None
        self.pushed_ids: list[str] = []
        # The scheduler's state (under the scheduler's lock).
        self.generation = 0
        self.running = False
        self.woken = False
        self.due = math.inf  # when its next round is scheduled
        self.rounds = 0  # rounds ended
        self.spread = False  # its timer put out of step with the others' (Fleet)

    # The requests SyncClient makes (sync/client.py: _request, _signed_hello, _pull, _push's
    # last batch), through the node's session: signed, gzipped JSON, decoded by sync.wire.
    def _json(self, method: str, path: str, payload: Any = None) -> Any:
        from sync.wire import decode, encode

        body = encode(payload) if payload is not None else b""
        headers = (
            {"Content-Type": "application/json", "Content-Encoding": "gzip"} if payload is not None else {}
        )
        response = self.session.send(method, f"/sync/v1{path}", body, headers=headers)
        if response.status_code >= 400:
            try:
                code = response.json().get("error") or response.status_code
            except ValueError:
                code = response.status_code
            raise RoundError(f"http_{response.status_code}_{code}")
        return decode(response.content, gzipped=False)

    def enroll(self, token: str) -> None:
        from sync.client import request_enrolment

        answer = request_enrolment(self.base, token, self.key, self.node_id, verify=False)
        self.session.clock_offset_ms = int(answer["server_time_ms"] - time.time() * 1000)

    def hello(self) -> None:
        from sync import PROTOCOL_VERSION
        from sync.client import _software
        from sync.migrations import schema_version
        from sync.session import received_at

        started = time.time()
        answer = self._json(
            "POST",
            "/hello",
            {"protocol": PROTOCOL_VERSION, "schema": schema_version(), "software": _software()},
        )
        if isinstance(answer.get("server_time_ms"), int):
            self.session.clock_read(answer["server_time_ms"], started, time.time(), received_at(answer))

    def sync_round(self) -> None:
        """A round with nothing to push, as `SyncClient.run_round` makes it: a hello only when the
        last one no longer holds (`sync.client.LastHello`: every few minutes), else the pull says
        the post's schema."""
        from sync.client import LastHello, _software
        from sync.migrations import schema_version

        schema, software = schema_version(), _software()
        if self.last_hello is not None and self.last_hello.holds(schema, software):
            self.pull(schema=schema)
            return
        self.hello()
        self.last_hello = LastHello.now(schema, software)
        self.pull()

    def pull(self, page: dict[str, Any] | None = None, schema: int | None = None) -> int:
        """Pull until central has nothing more (the records are counted, not stored); how many."""
        got = 0
        for _ in range(10_000):
            if page is None:
                said = f"&schema={schema}" if schema is not None else ""
                page = self._json("GET", f"/pull?cursor={self.cursor}&limit={PULL_LIMIT}{said}")
            got += len(page.get("records", []))
            self.cursor = int(page["cursor"])
            if not page.get("more"):
                return got
            page = None
        raise RoundError("pull_endless")

    def first_sync(self) -> int:
        self.session.measure_clock()
        self.hello()
        return self.pull()

    def push(self, specialty: str) -> float:
        """A new patient and an emergency appeal for them, pushed with the pull asked along;
        the push's seconds."""
        records = self.new_records(specialty)
        started = time.perf_counter()
        answer = self._json(
            "POST", "/push", {"records": records, "pull": {"cursor": self.cursor, "limit": PULL_LIMIT}}
        )
        took = time.perf_counter() - started
        if answer.get("refused"):
            raise RoundError("refused:" + str(answer["refused"][0].get("code", answer["refused"][0]))[:60])
        self.pushed_ids += [r["id"] for r in records]
        self.pull(answer["pull"] if isinstance(answer.get("pull"), dict) else None)
        return took

    def new_records(self, specialty: str) -> list[dict[str, Any]]:
        """What the kiosk writes for a patient registered and sent to a consultant at once,
        stamped as the node stamps (sync.model.SyncModel.save), in wire form."""
        from domain.models import Appeal, Patient
        from sync.clock import HybridClock, utcnow

        if self.clock is None:
            self.clock = HybridClock(self.node_id)
        self.clock.offset_ms = self.session.clock_offset_ms or 0
        n = len(self.pushed_ids) // 2
        rng = random.Random(f"{self.node_id}-{n}")
        patient = Patient(
            last_name=rng.choice(["Иванова", "Петрова", "Сидорова", "Кузнецова"]),
            first_name=rng.choice(["Анна", "Мария", "Елена", "Ольга"]),
            middle_name="Ивановна",
            birth_date=date(1950, 1, 1) + timedelta(days=rng.randrange(50 * 365)),
            sex="female",
            phone=f"+7915{self.index:04d}{n % 1000:03d}",
            organization=self.organization,
        )
        now = utcnow()
        appeal = Appeal(
            patient=patient.id,
            post=self.organization,
            author=self.feldsher,
            specialty=specialty,
            consultant=None,
            slot=None,
            form_of_care="emergency",
            question="Боль за грудиной 30 минут, ЭКГ снята",
            consent_by="patient",
            consent_at=now,
            created_at=now,
            due_at=Appeal.compute_due_at(now, "emergency", None),
        )
        out = []
        for row in (patient, appeal):
            # No validate(): Patient's asks the database for the post's time zone, and this
            # process must not hold connections central needs; central checks every record.
            row.origin = row.changed_by = self.node_id
            row.hlc = self.clock.now()
            row.deleted = False
            if row.PER_FIELD:
                row.field_stamps = json.dumps({f: row.hlc for f in row.merged_field_names()}, sort_keys=True)
            out.append(row.to_wire())
        return out


# -- the live links --------------------------------------------------------------------


class GcPauses:
    """The simulator's own garbage-collection pauses (thousands of link threads and their
    objects: a full collection stops every simulated post at once, which central did not cause)."""

    def __init__(self) -> None:
        self.started = 0.0
        self.pauses: list[tuple[float, float]] = []  # (ended, seconds)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        elif self.started:
            self.pauses.append((time.monotonic(), time.perf_counter() - self.started))

    def between(self, start: float, end: float) -> list[float]:
        return [s for ended, s in self.pauses if start <= ended <= end]


class LinkLedger(logging.Handler):
    """Counts the links' connection attempts, successes, drops and why attempts failed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.counts_lock = threading.Lock()  # not `lock`: that is the Handler's own
        self.attempts = 0
        self.connects = 0
        self.drops = 0
        self.notices = 0  # «changes» received (own pushes coming back included)
        self.failures: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("central link not up") and record.args:
            exc = record.args[0] if isinstance(record.args, tuple) else record.args
            text = str(exc)
            reason = type(exc).__name__
            if "timed out" in text.lower() or "timeout" in text.lower():
                reason += ":timeout"
            elif "refused" in text.lower() or "unauthorized" in text.lower():
                reason += ":refused"
            with self.counts_lock:
                self.failures[reason] += 1


def make_link(post: Post, ledger: LinkLedger, on_changes: Any, on_drop: Any = None) -> Any:
    """The node's own CentralLink on the post's session, counting what happens to it
    (`on_drop`: told when an up link goes down, as the node's sync worker notices)."""
    from node.live.link import CentralLink

    class CountedLink(CentralLink):
        def _changes(self, data: Any = None) -> None:
            with ledger.counts_lock:
                ledger.notices += 1
            super()._changes(data)

        def headers(self) -> dict[str, str]:
            with ledger.counts_lock:
                ledger.attempts += 1
            return super().headers()

        def _connected(self) -> None:
            with ledger.counts_lock:
                ledger.connects += 1
            super()._connected()

        def _dropped(self) -> None:
            with ledger.counts_lock:
                ledger.drops += 1
            super()._dropped()
            if on_drop is not None:
                on_drop()

    return CountedLink(post.session, on_changes)


# -- the rounds --------------------------------------------------------------------------


@dataclass
class Done:
    kind: str  # "sync" (nothing to send) or "push"
    started: float
    ended: float
    lag: float  # how late it started after it was due
    woken: bool = False  # started by the link («changes», or the link coming up), not the timer
    error: str | None = None
    push_s: float | None = None


@dataclass
class Fleet:
    """Runs every post's rounds as its sync worker would, on `workers` threads.

    The pause after a round is `sync.worker.SyncWorker`'s: `safety` s while the post's link is
    up (central pushes its changes), `interval` s without it; ±20 %. A pusher's feldsher writes
    every `interval` s and the write starts a round at once (`node/live/hooks.py`), so pushers
    round every `interval` whatever the link. A link that drops during a safety pause brings the
    next round within `interval`. The first timed pause in a post's steady state (its link up, or
    it has none) is drawn from 0 to one pause, so that the window sees the timers of a fleet
    long up, out of step — not the echo of the links' ramp."""

    posts: list[Post]
    interval: float
    pushers: int
    specialty: str
    workers: int
    deadline: float
    safety: float = 0.0  # 0: as `interval` (every post polls, linked or not)
    done: list[Done] = field(default_factory=list)
    #: (due, tie, post, generation, woken)
    heap: list[tuple[float, int, int, int, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.tie = 0
        self.threads: list[threading.Thread] = []

    def _schedule(self, post: Post, due: float, woken: bool = False) -> None:
        """Under the lock: `post`'s next round at `due` (an earlier schedule no longer counts)."""
        post.generation += 1
        post.due = due
        self.tie += 1
        heapq.heappush(self.heap, (due, self.tie, post.index, post.generation, woken))
        self.cond.notify()

    def linked(self, post: Post) -> bool:
        return post.link is not None and post.link.connected.is_set()

    def pause(self, post: Post) -> float:
        """The post's pause between rounds now, before the jitter."""
        if post.index < self.pushers or not self.linked(post):
            return self.interval
        return max(self.interval, self.safety)

    def trigger(self, post: Post) -> None:
        """Central said «changes» (or the link just came up): a round now, or after the current one."""
        with self.cond:
            if post.running:
                post.woken = True
            else:
                self._schedule(post, time.monotonic(), woken=True)

    def dropped(self, post: Post) -> None:
        """The post's link went down: no longer a safety pause, a poll within `interval`."""
        with self.cond:
            if not post.running:
                soon = time.monotonic() + _jittered(self.interval)
                if soon < post.due:
                    self._schedule(post, soon)

    def start(self) -> None:
        now = time.monotonic()
        with self.cond:
            for post in self.posts:
                self._schedule(post, now + random.uniform(0, self.interval))
        for n in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"fleet-round-{n}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def _next(self) -> tuple[Post, float, bool] | None:
        with self.cond:
            while not self.stop.is_set():
                now = time.monotonic()
                if now >= self.deadline:
                    return None
                if self.heap:
                    due, _, index, generation, woken = self.heap[0]
                    post = self.posts[index]
                    if generation != post.generation or post.running:
                        heapq.heappop(self.heap)
                        continue
                    if due <= now:
                        heapq.heappop(self.heap)
                        post.running = True
                        post.due = math.inf
                        return post, due, woken
                    self.cond.wait(min(due, self.deadline) - now)
                else:
                    self.cond.wait(self.deadline - now)
        return None

    def _work(self) -> None:
        for _ in range(10_000_000):
            got = self._next()
            if got is None:
                return
            post, due, woken = got
            started = time.monotonic()
            kind = "push" if post.index < self.pushers else "sync"
            done = Done(kind, started, started, started - due, woken)
            try:
                if done.kind == "push":  # rows to push: the node says hello first
                    post.hello()
                    done.push_s = post.push(self.specialty)
                else:
                    post.sync_round()
            except Exception as exc:  # noqa: BLE001 - counted by its kind, the run goes on
                done.error = _reason(exc)
            done.ended = time.monotonic()
            with self.cond:
                self.done.append(done)
                post.running = False
                post.rounds += 1
                if post.woken:
                    post.woken = False
                    self._schedule(post, done.ended, woken=True)
                elif not post.spread and (post.link is None or self.linked(post)):
                    # Once in its steady pause: out of step with the others, as in a fleet long up.
                    post.spread = True
                    self._schedule(post, done.ended + random.uniform(0, self.pause(post)))
                else:
                    self._schedule(post, done.ended + _jittered(self.pause(post)))

    def join(self, timeout: float) -> None:
        self.stop.set()
        with self.cond:
            self.cond.notify_all()
        end = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, end - time.monotonic()))


# -- a run --------------------------------------------------------------------------------


def _jittered(pause: float) -> float:
    return random.uniform(pause * (1 - JITTER), pause * (1 + JITTER))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def one_run(args: argparse.Namespace, run: int, work: Path) -> dict[str, Any]:
    from sync.db import database
    from sync.server import issue_token

    out: dict[str, Any] = {}
    name = f"faplink_bench_fleet_{os.getpid()}_{run}"
    procs: list[tuple[Any, str]] = []
    links: list[Any] = []
    fleet: Fleet | None = None
    ledger = LinkLedger()
    gc_pauses = GcPauses()
    gc.callbacks.append(gc_pauses)
    link_log = logging.getLogger("node.live.link")
    link_log.setLevel(logging.DEBUG)
    link_log.addHandler(ledger)
    link_log.propagate = False
    try:
        started = time.monotonic()
        url, directory = make_database(args.pg, name, args.posts)
        tokens = [issue_token(org, hours=2, note="fleet_load") for org, _ in directory.posts]
        database.close()
        database.initialize(None)  # from here on, a query in this process fails loudly
        out["setup_db_s"] = round(time.monotonic() - started, 1)
        print(f"run {run}: database {name} with {args.posts} posts in {out['setup_db_s']} s", flush=True)

        procs = start_centrals(
            args.instances,
            url,
            work / "central",
            args.redis,
            work / "logs",
            args.gateway_workers,
            args.db_pool,
        )
        bases = [base for _, base in procs]
        posts = [
            Post(n, org, feldsher, bases[n % len(bases)], args.timeout)
            for n, (org, feldsher) in enumerate(directory.posts)
        ]
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda pt: pt[0].enroll(pt[1]), zip(posts, tokens, strict=True)))
            pulled = list(pool.map(lambda p: p.first_sync(), posts))
        out["setup_enrol_first_sync_s"] = round(time.monotonic() - started, 1)
        out["first_sync_records"] = statistics.median(pulled)
        print(
            f"run {run}: {len(posts)} posts enrolled on {len(bases)} instance(s) and synced once"
            f" ({out['first_sync_records']} records each) in {out['setup_enrol_first_sync_s']} s",
            flush=True,
        )

        # What the setup made (1,000 posts' sessions, keys, links and their threads' state) lives
        # to the end: kept out of the collector's view, so that a full collection does not walk
        # it and stop every simulated post at once (up to 0.9 s with it in view). A real fleet
        # is 1,000 processes on 1,000 kiosks; the pauses were the simulator's, not central's.
        gc.freeze()

        # A consultant logs in now (the queue page is timed during the window).
        consultant = requests.Session()
        consultant.post(
            f"{bases[0]}/api/v1/session", json={"login": "ivanova", "password": "demo1234"}, timeout=30
        ).raise_for_status()

        load_start = time.monotonic()
        window_start = load_start + args.warmup
        window_end = window_start + args.duration
        fleet = Fleet(
            posts,
            args.interval,
            min(args.pushers, len(posts)),
            directory.specialty_id,
            args.workers,
            window_end,
            args.safety_interval or 0.0,
        )
        fleet.start()
        linked = len(posts) if args.linked < 0 else min(args.linked, len(posts))
        for post in posts[:linked]:
            post.link = make_link(
                post,
                ledger,
                lambda p=post: fleet.trigger(p),  # type: ignore[union-attr]
                lambda p=post: fleet.dropped(p),  # type: ignore[union-attr]
            )
            links.append(post.link)
        ramp_step = args.ramp / max(1, len(links))
        for n, link in enumerate(links):
            # The links come up over the ramp, as kiosks switched on through a morning would.
            delay = load_start + n * ramp_step - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            link.start()

        samples: list[int] = []
        rss: list[float] = []
        queue_ms: list[float] = []
        queue_fail: Counter[str] = Counter()

        def queue_pages() -> None:
            """The consultant's «Новые обращения» on instance 1, evenly over the window (own thread:
            a page central cannot serve must not stretch the window)."""
            if args.queue_requests <= 0:
                return
            every = args.duration / args.queue_requests
            for n in range(args.queue_requests):
                wait = window_start + (n + 0.5) * every - time.monotonic()
                if fleet_stop.wait(max(0.0, wait)):
                    return
                try:
                    t0 = time.perf_counter()
                    answer = consultant.get(f"{bases[0]}/appeals?queue=new", timeout=args.timeout)
                    if answer.status_code == 200:
                        queue_ms.append((time.perf_counter() - t0) * 1000)
                    else:
                        queue_fail[f"http_{answer.status_code}"] += 1
                except requests.RequestException as exc:
                    queue_fail[type(exc).__name__] += 1

        fleet_stop = fleet.stop
        prober = threading.Thread(target=queue_pages, name="fleet-queue-page", daemon=True)
        prober.start()
        while time.monotonic() < window_start:
            time.sleep(0.2)
        gc.freeze()  # and the links, up by now (as above)
        pids = [p.pid for p, _ in procs]
        use_before, self_before, t_before, notices_before = (
            total_usage(pids),
            _self_cpu(),
            time.monotonic(),
            ledger.notices,
        )
        print(
            f"run {run}: steady window of {args.duration:.0f} s starts;"
            f" links up {sum(link.connected.is_set() for link in links)}",
            flush=True,
        )
        for _ in range(int(args.duration) + 10):
            if time.monotonic() >= window_end:
                break
            samples.append(sum(link.connected.is_set() for link in links))
            rss.append(sum(r for _, r, _ in total_usage(pids).values()))
            time.sleep(max(0.0, min(1.0, window_end - time.monotonic())))
        use_after, self_after, t_after, notices_after = (
            total_usage(pids),
            _self_cpu(),
            time.monotonic(),
            ledger.notices,
        )
        cpu_before = sum(c for c, _, _ in use_before.values())
        cpu_after = sum(c for c, _, _ in use_after.values())
        in_flight = sum(post.running for post in posts)
        window = t_after - t_before
        fleet.join(args.timeout + 5)
        prober.join(args.timeout + 5)
        held_end = sum(link.connected.is_set() for link in links)

        in_window = [d for d in fleet.done if window_start <= d.ended <= window_end]
        gc_in_window = gc_pauses.between(window_start, window_end)
        with (work / "logs" / f"run{run}-rounds.csv").open("w") as rounds_csv:
            # Every round, s from the window's start: what --keep leaves to look at.
            rounds_csv.write("started,ended,lag,kind,woken,error\n")
            for d in fleet.done:
                rounds_csv.write(
                    f"{d.started - window_start:.3f},{d.ended - window_start:.3f},{d.lag:.3f},"
                    f"{d.kind},{int(d.woken)},{d.error or ''}\n"
                )
        ok = [d for d in in_window if d.error is None]
        errors = Counter(d.error for d in in_window if d.error)
        pushes = [d.push_s * 1000 for d in ok if d.push_s is not None]
        out.update(
            {
                "posts": len(posts),
                "instances": len(procs),
                "serving": f"gateway+{args.gateway_workers}web" if args.gateway_workers else "gunicorn",
                "round_interval_s": args.interval,
                "safety_interval_s": max(args.interval, args.safety_interval or 0.0),
                "links": len(links),
                "links_held": statistics.median(samples) if samples else 0,
                "links_held_min": min(samples) if samples else 0,
                "links_held_end": held_end,
                "link_attempts": ledger.attempts,
                "link_connects": ledger.connects,
                "link_drops": ledger.drops,
                "link_failures": sum(ledger.failures.values()),
                "link_failure_reasons": dict(ledger.failures.most_common(4)) or "none",
                "rounds_target_per_s": round(_target(args, len(posts), linked), 1),
                "rounds_per_s": round(len(ok) / window, 2),
                "rounds_woken_pct": round(100 * sum(d.woken for d in ok) / len(ok), 1) if ok else 0.0,
                "changes_notices": notices_after - notices_before,
                "round_p50_ms": round(_pct([(d.ended - d.started) * 1000 for d in ok], 0.5), 1)
                if ok
                else "n/a",
                "round_p95_ms": round(_pct([(d.ended - d.started) * 1000 for d in ok], 0.95), 1)
                if ok
                else "n/a",
                "simulator_gc_max_ms": round(max(gc_in_window, default=0.0) * 1000, 1),
                "simulator_gc_total_ms": round(sum(gc_in_window) * 1000, 1),
                "round_lag_p95_ms": round(_pct([d.lag * 1000 for d in in_window], 0.95), 1)
                if in_window
                else "n/a",
                "rounds_in_flight_at_end": in_flight,
                "errors": sum(errors.values()),
                "errors_pct": round(100 * sum(errors.values()) / len(in_window), 1) if in_window else 0.0,
                "error_reasons": dict(errors.most_common(4)) or "none",
                "pushes": len(pushes),
                "push_p50_ms": round(_pct(pushes, 0.5), 1) if pushes else "n/a",
                "push_p95_ms": round(_pct(pushes, 0.95), 1) if pushes else "n/a",
                "central_pss_mb": round(max(rss), 1) if rss else "n/a",
                "central_cpu_cores": round((cpu_after - cpu_before) / window, 2),
                "central_cpu_cores_by_process": " ".join(
                    f"{role}×{use_after[role][2]}="
                    f"{(use_after[role][0] - use_before.get(role, (0.0, 0.0, 0))[0]) / window:.2f}"
                    for role in sorted(use_after)
                ),
                "central_pss_mb_by_process": " ".join(
                    f"{role}={use_after[role][1]:.0f}" for role in sorted(use_after)
                ),
                "central_cpu_ms_per_round": round((cpu_after - cpu_before) * 1000 / len(ok), 1)
                if ok
                else "n/a",
                "simulator_cpu_cores": round((self_after - self_before) / window, 2),
                "queue_page_p50_ms": round(_pct(queue_ms, 0.5), 1) if queue_ms else "n/a",
                "queue_page_p95_ms": round(_pct(queue_ms, 0.95), 1) if queue_ms else "n/a",
                "queue_page_failures": sum(queue_fail.values()),
            }
        )
        out["pushed_records_missing"] = _missing_pushes(url, posts)
        out["central_log_errors"] = _log_errors(work / "logs", run)
    finally:
        _stop_links(links)
        if fleet is not None:
            fleet.join(5)
        for proc, _ in procs:
            stop_process(proc)
        link_log.removeHandler(ledger)
        gc.callbacks.remove(gc_pauses)
        # The run's objects back in view and collected now, between runs: left to the next
        # run's window, their collection stopped every simulated post for 26 s.
        gc.unfreeze()
        gc.collect()
        if not args.keep:
            try:
                _pg_drop(args.pg, name)
            except Exception as exc:  # noqa: BLE001 - said, not fatal to the report
                print(f"could not drop {name}: {exc}", file=sys.stderr)
    return out


def _log_errors(logs: Path, run: int) -> dict[str, int] | str:
    """The exceptions central's logs name (a 500 says no more), most frequent first."""
    found: Counter[str] = Counter()
    for path in logs.glob("central-*.log"):
        for line in path.read_text(errors="replace").splitlines():
            match = re.match(r"^([\w.]+(?:Error|Exception|Timeout)): (.{0,120})", line)
            if match:
                found[f"{match.group(1)}: {match.group(2)}"] += 1
        path.rename(path.with_name(f"run{run}-{path.name}"))  # the next run's instances log afresh
    return dict(found.most_common(3)) or "none"


def _target(args: argparse.Namespace, posts: int, linked: int) -> float:
    """The rounds a second the fleet's timers ask for with every link up (woken rounds aside)."""
    pushers = min(args.pushers, posts)
    safety = max(args.interval, args.safety_interval or 0.0)
    timed_linked = max(0, linked - pushers)
    return (posts - timed_linked) / args.interval + timed_linked / safety


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _stop_links(links: list[Any]) -> None:
    """Stop every link at once (each may wait for its thread)."""
    for link in links:
        link._stop.set()
        link._wake.set()
    if links:
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(lambda link: link.stop(timeout=5), links))


def _missing_pushes(url: str, posts: list[Post]) -> int:
    """How many of the records central accepted from the pushers it does not hold (must be 0)."""
    from domain.models import Appeal, Patient
    from sync.db import database, open_database_url

    ids = [i for post in posts for i in post.pushed_ids]
    if not ids:
        return 0
    open_database_url(url)
    try:
        found = 0
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            found += Patient.select().where(Patient.id.in_(chunk)).count()
            found += Appeal.select().where(Appeal.id.in_(chunk)).count()
    finally:
        database.close()
    return len(ids) - found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--duration", type=float, default=60, help="the measured window, s")
    parser.add_argument("--warmup", type=float, default=20, help="s of load before the window")
    parser.add_argument("--ramp", type=float, default=10, help="s over which the links come up")
    parser.add_argument(
        "--interval",
        "--round-interval",
        type=float,
        default=15,
        help="s between a post's rounds without the link, and between a pusher's writes (±20 %%)",
    )
    parser.add_argument(
        "--safety-interval",
        type=float,
        default=None,
        help="s between a linked post's timed rounds (the node's FAPLINK_SYNC_SAFETY_INTERVAL, 300);"
        " default: --interval, i.e. every post polls, linked or not",
    )
    parser.add_argument(
        "--gateway-workers",
        type=int,
        default=0,
        help="run each instance as `central run --workers N` (realtime gateway + N web workers);"
        " 0 (default): `central run --server gunicorn`",
    )
    parser.add_argument(
        "--db-pool",
        type=int,
        default=None,
        help="FAPLINK_DB_POOL for central's processes (default: theirs, 20)",
    )
    parser.add_argument(
        "--pushers", type=int, default=50, help="posts that push a patient and an appeal every round"
    )
    parser.add_argument("--workers", type=int, default=64, help="threads running the posts' rounds")
    parser.add_argument("--timeout", type=float, default=30, help="s a request may take (the node's)")
    parser.add_argument(
        "--linked", type=int, default=-1, help="posts that hold a live link (default all; 0: rounds only)"
    )
    parser.add_argument(
        "--queue-requests", type=int, default=10, help="queue pages timed in the window (0: none)"
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--pg", default=PG_ADMIN)
    parser.add_argument("--redis", default=REDIS_URL)
    parser.add_argument(
        "--work", type=Path, default=None, help="logs and central's data (default: a temporary directory)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the work directory")
    args = parser.parse_args()
    _local(args.pg, "--pg")
    _local(args.redis, "--redis")
    if not (1 <= args.instances <= 8 and 1 <= args.posts <= 5000 and 1 <= args.runs <= 10):
        raise SystemExit("--instances 1..8, --posts 1..5000, --runs 1..10")
    if args.duration > 3600 or args.warmup > 600:
        raise SystemExit("--duration at most 3600 s, --warmup 600 s")
    if not 0 <= args.gateway_workers <= 16:
        raise SystemExit("--gateway-workers 0..16")
    if args.interval <= 0 or (args.safety_interval is not None and not 0 < args.safety_interval <= 3600):
        raise SystemExit("--interval > 0, --safety-interval 0..3600 s")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        _pg(args.pg, ("SELECT 1", ()))
    except Exception as exc:  # noqa: BLE001
        print(f"\nsummary:\nfleet_status: not measured: no PostgreSQL at {args.pg} ({type(exc).__name__})")
        return 0
    try:
        import redis

        redis.Redis.from_url(args.redis).ping()
    except Exception as exc:  # noqa: BLE001
        print(f"\nsummary:\nfleet_status: not measured: no Redis at {args.redis} ({type(exc).__name__})")
        return 0

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    threading.stack_size(512 * 1024)  # thousands of link threads: small stacks
    import domain  # noqa: F401 - fills the sync registry

    commit, dirty = code_version()
    figures: dict[str, Any] = {
        "code_commit": commit + ("+changes" if dirty else ""),
        "load_1m_start": os.getloadavg()[0],
    }
    work = args.work or Path(tempfile.mkdtemp(prefix="faplink-fleet-"))
    runs: list[dict[str, Any]] = []
    try:
        for run in range(1, args.runs + 1):
            result = one_run(args, run, work)
            runs.append(result)
            print(f"run {run}: " + ", ".join(f"{k}={v}" for k, v in result.items()), flush=True)
    except KeyboardInterrupt:
        print("interrupted: everything started was stopped", file=sys.stderr)
        return 130
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
        elif args.keep:
            print(
                f"kept: {work} (central's logs and data), the database(s) faplink_bench_fleet_{os.getpid()}_*"
            )
    figures["load_1m_end"] = os.getloadavg()[0]
    figures["runs"] = len(runs)
    print("\nsummary:")
    for key in runs[0]:
        values = [r[key] for r in runs]
        if all(isinstance(v, (int, float)) for v in values):
            value: Any = statistics.median(values)
            value = round(value, 2) if isinstance(value, float) else value
        else:
            value = values[len(values) // 2] if len(set(map(str, values))) > 1 else values[0]
        figures[key] = value
    for key, value in figures.items():
        print(f"fleet_{key}: {value}" if not key.startswith(("code_", "load_")) else f"{key}: {value}")
    failed = any(r.get("pushed_records_missing") for r in runs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
