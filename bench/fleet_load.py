"""A fleet of really enrolled, simulated posts against central served as in production.

Central runs as `--instances` real instances on one fresh PostgreSQL database with the Redis
message queue (README, «Scaling central»): `faplink central run --server gunicorn` (one
process, 64 threads serving HTTP and the links alike), or with `--gateway-workers N`
`faplink central run --workers N` (a supervisor, the asyncio realtime gateway on the port
holding every link, N gunicorn web workers behind it). The posts are spread over the
instances' ports (no proxy). Every post is a real registration:
an Organization and its feldsher in the directory, a one-time enrolment token
(`sync.server.issue_token`, what `faplink central issue-token` does) and `POST /sync/v1/enroll`
with the post's own Ed25519 key (`sync.client.request_enrolment`). No node process runs: the
posts are coroutines on one event loop in this process (`fleet_posts.py`: uvloop, aiohttp and
python-socketio's AsyncClient; a thread per post's link made ~3,000 threads that measured
themselves, not central). Each post

- signs its requests with its own key through the node's `sync.session.CentralSession`
  (central's clock measured by ping, then by every hello, as the node does) on its own
  kept-alive connection;
- holds its live link (the first `--linked` posts; all by default) as the node's
  `node.live.link.CentralLink` does (Socket.IO "/node", signed handshake, reconnect with
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
import asyncio
import gc
import logging
import math
import os
import re
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
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
from fleet_posts import Fleet, Link, LinkLedger, Post, each, error_code  # noqa: E402
from queue_load import _pg, _pg_drop  # noqa: E402

PG_ADMIN = os.environ.get("FAPLINK_BENCH_PG", "postgresql://root@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("FAPLINK_BENCH_REDIS", "redis://127.0.0.1:6379/0")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

log = logging.getLogger("fleet_load")
T = TypeVar("T")


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


class CpuCaps:
    """Each instance on a share of this machine of its own, as if on a host of its own: a cgroup
    per instance whose CFS quota caps all of its processes together at `cores` (the cgroup v2
    `cpu.max`, or v1's `cpu.cfs_quota_us`). PostgreSQL, Redis and the simulator stay outside, as
    shared parts are in production. Needs write access to the cgroup file system (root)."""

    PERIOD_US = 100_000

    def __init__(self, cores: float) -> None:
        v2, v1 = Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/cpu")
        controllers = v2 / "cgroup.controllers"
        if controllers.exists() and "cpu" in controllers.read_text().split():
            self.root, self.v2 = v2, True
        elif (v1 / "cpu.cfs_quota_us").exists():
            self.root, self.v2 = v1, False
        else:
            raise SystemExit("--cpu-per-instance: no cgroup cpu controller at /sys/fs/cgroup")
        self.cores = cores
        self.groups: list[Path] = []

    def group(self, n: int) -> Path:
        """A new capped cgroup for instance `n`; its `cgroup.procs` takes the instance's first process."""
        path = self.root / f"faplink-bench-{os.getpid()}-{n}"
        try:
            path.mkdir()
            quota = int(self.cores * self.PERIOD_US)
            if self.v2:
                (path / "cpu.max").write_text(f"{quota} {self.PERIOD_US}")
            else:
                (path / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
                (path / "cpu.cfs_quota_us").write_text(str(quota))
        except OSError as exc:
            raise SystemExit(f"--cpu-per-instance: cannot make {path} ({exc.strerror}): run as root") from exc
        self.groups.append(path)
        return path

    def confine(self, n: int, pid: int) -> None:
        """Instance `n` (its process `pid` and every descendant) into a capped cgroup of its own;
        what they fork later is born inside it. Called once the posts are set up, so that
        enrolling a thousand posts is not what the cap is spent on."""
        from benchlib import _tree

        procs = self.group(n) / "cgroup.procs"
        for one in _tree(pid):
            try:
                procs.write_text(str(one))
            except ProcessLookupError:
                pass  # gone meanwhile

    def periods(self) -> tuple[int, int]:
        """The instances' CFS periods so far, together: (periods run, periods cut short by the cap)."""
        run = throttled = 0
        for path in self.groups:
            stat = dict(line.split(" ", 1) for line in (path / "cpu.stat").read_text().splitlines())
            run += int(stat.get("nr_periods", 0))
            throttled += int(stat.get("nr_throttled", 0))
        return run, throttled

    def lift(self) -> None:
        """No cap any more (so that the instances stop as fast as they can)."""
        for path in self.groups:
            if self.v2:
                (path / "cpu.max").write_text(f"max {self.PERIOD_US}")
            else:
                (path / "cpu.cfs_quota_us").write_text("-1")

    def remove(self) -> None:
        """Remove the cgroups (their processes stopped)."""
        for path in self.groups:
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)
        self.groups.clear()


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
        command = [
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
        ]
        proc = start_process(
            command,
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


# -- the simulator's own pauses ----------------------------------------------------


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


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass
class Steady:
    """What the simulated fleet saw: its rounds, the links, and central's use over the window."""

    posts: list[Post]
    fleet: Fleet
    ledger: LinkLedger
    links: int
    first_sync_records: float
    setup_s: float
    window_start: float = 0.0
    window_end: float = 0.0
    window: float = 0.0
    held: list[int] = field(default_factory=list)  # links up, sampled each second
    held_end: int = 0
    pss_mb: list[float] = field(default_factory=list)
    queue_ms: list[float] = field(default_factory=list)
    queue_fail: Counter[str] = field(default_factory=Counter)
    changes_sent: Counter[str] = field(default_factory=Counter)  # by the status the post awaits
    protocol_fail: Counter[str] = field(default_factory=Counter)
    use_before: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    use_after: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    self_cpu_s: float = 0.0
    capped_pct: float | None = None  # of the instances' CFS periods, those the quota cut short
    notices: int = 0
    in_flight_at_end: int = 0


def _consultant(base: str, timeout: float) -> requests.Session:
    """Иванова (cardiology, the pushers' specialty) logged in to `base`'s JSON API."""
    session = requests.Session()
    answer = session.post(
        f"{base}/api/v1/session", json={"login": "ivanova", "password": "demo1234"}, timeout=timeout
    )
    answer.raise_for_status()
    session.headers["X-CSRF-Token"] = answer.json()["csrf_token"]  # for what she changes
    return session


async def drive(
    args: argparse.Namespace,
    run: int,
    bases: list[str],
    pids: list[int],
    directory: Directory,
    tokens: list[str],
    caps: CpuCaps | None = None,
) -> Steady:
    """The fleet's life on one event loop: enrol every post, sync it once, bring its link up over
    the ramp, run the rounds through the warm-up and the window, and measure the window."""
    posts = [
        Post(n, org, feldsher, bases[n % len(bases)], args.timeout)
        for n, (org, feldsher) in enumerate(directory.posts)
    ]
    started = time.monotonic()
    for post in posts:
        await post.open()

    async def set_up(post: Post) -> int:
        await post.enroll(tokens[post.index])
        return await post.first_sync()

    try:
        pulled = await each(set_up, posts, 8)
    except BaseException:  # interrupted, or central refused: the posts' connections closed all the same
        await asyncio.gather(*(post.close() for post in posts), return_exceptions=True)
        raise
    linked = len(posts) if args.linked < 0 else min(args.linked, len(posts))
    fleet = Fleet(
        posts,
        args.interval,
        min(args.pushers, len(posts)),
        directory.specialty_id,
        math.inf,  # set when the load starts
        args.safety_interval or 0.0,
        args.workers,
    )
    steady = Steady(
        posts, fleet, LinkLedger(), linked, statistics.median(pulled), round(time.monotonic() - started, 1)
    )
    print(
        f"run {run}: {len(posts)} posts enrolled on {len(bases)} instance(s) and synced once"
        f" ({steady.first_sync_records} records each) in {steady.setup_s} s",
        flush=True,
    )
    # What the setup made lives to the end: kept out of the collector's view.
    gc.freeze()

    # A consultant logs in now (the queue page is timed during the window).
    consultant = _consultant(bases[0], 30)

    if caps is not None:
        for n, pid in enumerate(pids):
            caps.confine(n + 1, pid)
    load_start = time.monotonic()
    steady.window_start = window_start = load_start + args.warmup
    steady.window_end = window_end = window_start + args.duration
    fleet.deadline = window_end
    fleet.start()
    links: list[Link] = []
    for post in posts[:linked]:
        post.link = Link(post, steady.ledger, partial(fleet.trigger, post), partial(fleet.dropped, post))
        links.append(post.link)

    async def ramp() -> None:
        """The links come up over the ramp, as kiosks switched on through a morning would."""
        step = args.ramp / max(1, len(links))
        for n, link in enumerate(links):
            await asyncio.sleep(max(0.0, load_start + n * step - time.monotonic()))
            link.start()

    async def queue_pages() -> None:
        """The consultant's «Новые обращения» on instance 1, evenly over the window (in a thread:
        the page is a browser's request, not the fleet's)."""
        if args.queue_requests <= 0:
            return
        every = args.duration / args.queue_requests
        for n in range(args.queue_requests):
            await asyncio.sleep(max(0.0, window_start + (n + 0.5) * every - time.monotonic()))
            try:
                t0 = time.perf_counter()
                answer = await asyncio.to_thread(
                    consultant.get, f"{bases[0]}/appeals?queue=new", timeout=args.timeout
                )
                if answer.status_code == 200:
                    steady.queue_ms.append((time.perf_counter() - t0) * 1000)
                else:
                    steady.queue_fail[f"http_{answer.status_code}"] += 1
            except requests.RequestException as exc:
                steady.queue_fail[type(exc).__name__] += 1

    async def protocols() -> None:
        """Иванова takes a pusher's latest emergency appeal in work and sends its protocol,
        `--protocols` times evenly over the window (on the pushers' instances, round-robin),
        each change timed from the consultant's request to the pull that brings it to the post."""
        pushers = [post for post in posts[: fleet.pushers] if post.link is not None]
        if args.protocols <= 0 or not pushers:
            return
        sessions: dict[str, requests.Session] = {}
        every = args.duration / args.protocols
        for n in range(args.protocols):
            await asyncio.sleep(max(0.0, window_start + (n + 0.25) * every - time.monotonic()))
            post = pushers[n % len(pushers)]
            if not post.pushed_ids:
                steady.protocol_fail["nothing_pushed"] += 1
                continue
            appeal = post.pushed_ids[-1]  # a patient, then their appeal
            if post.base not in sessions:
                sessions[post.base] = await asyncio.to_thread(_consultant, post.base, args.timeout)
            for status, path, body in (
                ("in_work", "take", {}),
                ("closed", "protocol", {"anamnesis": "ИБС", "recommendations": "Вызов СМП, ЧКВ-центр"}),
            ):
                post.await_change(appeal, status)
                failed = None
                try:
                    answer = await asyncio.to_thread(
                        sessions[post.base].post,
                        f"{post.base}/api/v1/appeals/{appeal}/{path}",
                        json=body,
                        timeout=args.timeout,
                    )
                    if answer.status_code not in (200, 201):
                        failed = f"http_{answer.status_code}_{error_code(answer.status_code, answer.content)}"
                except requests.RequestException as exc:
                    failed = type(exc).__name__
                if failed is not None:
                    steady.protocol_fail[f"{path}:{failed}"] += 1
                    post.awaited.pop(appeal, None)
                    break
                steady.changes_sent[status] += 1
                # She writes the protocol after the take has reached the post (or 10 s later).
                deadline = time.monotonic() + 10
                while appeal in post.awaited and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)

    side = [
        asyncio.ensure_future(ramp()),
        asyncio.ensure_future(queue_pages()),
        asyncio.ensure_future(protocols()),
    ]
    try:
        await asyncio.sleep(max(0.0, window_start - time.monotonic()))
        gc.freeze()  # and the links, up by now (as above)
        steady.use_before = await asyncio.to_thread(total_usage, pids)
        self_before, t_before, notices_before = _self_cpu(), time.monotonic(), steady.ledger.notices
        periods_before = caps.periods() if caps is not None else (0, 0)
        print(
            f"run {run}: steady window of {args.duration:.0f} s starts;"
            f" links up {sum(link.up for link in links)}",
            flush=True,
        )
        while time.monotonic() < window_end:
            steady.held.append(sum(link.up for link in links))
            use = await asyncio.to_thread(total_usage, pids)
            steady.pss_mb.append(sum(r for _, r, _ in use.values()))
            await asyncio.sleep(max(0.0, min(1.0, window_end - time.monotonic())))
        steady.use_after = await asyncio.to_thread(total_usage, pids)
        steady.self_cpu_s = _self_cpu() - self_before
        if caps is not None:
            periods, throttled = caps.periods()
            steady.capped_pct = 100 * (throttled - periods_before[1]) / max(1, periods - periods_before[0])
        steady.window = time.monotonic() - t_before
        steady.notices = steady.ledger.notices - notices_before
        steady.in_flight_at_end = sum(post.running for post in posts)
        await fleet.join(args.timeout + 5)
        await asyncio.wait(side, timeout=args.timeout + 5)
        steady.held_end = sum(link.up for link in links)
    finally:
        for task in side:
            task.cancel()
        await asyncio.gather(*(link.stop() for link in links), return_exceptions=True)
        await fleet.join(5)
        await asyncio.gather(*(post.close() for post in posts), return_exceptions=True)
    return steady


def run_loop(work: Coroutine[Any, Any, T]) -> T:
    """`work` on a uvloop event loop of its own; Ctrl+C or SIGTERM cancel it (the loop hears them
    while it waits, Python's handlers would not) and arrive as KeyboardInterrupt, so that
    `one_run` stops what it started."""
    import uvloop

    loop = uvloop.new_event_loop()
    task = loop.create_task(work)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    try:
        return loop.run_until_complete(task)
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()  # the default executor's threads are not waited for


def one_run(args: argparse.Namespace, run: int, work: Path) -> dict[str, Any]:
    from sync.db import database
    from sync.server import issue_token

    out: dict[str, Any] = {}
    name = f"faplink_bench_fleet_{os.getpid()}_{run}"
    procs: list[tuple[Any, str]] = []
    caps = CpuCaps(args.cpu_per_instance) if args.cpu_per_instance else None
    gc_pauses = GcPauses()
    gc.callbacks.append(gc_pauses)
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
        pids = [p.pid for p, _ in procs]
        steady = run_loop(drive(args, run, bases, pids, directory, tokens, caps))
        out["setup_enrol_first_sync_s"] = steady.setup_s
        out["first_sync_records"] = steady.first_sync_records
        out.update(report(args, run, work, steady, gc_pauses))
        out["pushed_records_missing"] = _missing_pushes(url, steady.posts)
        out["central_log_errors"] = _log_errors(work / "logs", run)
    finally:
        if caps is not None:
            caps.lift()
        for proc, _ in procs:
            stop_process(proc)
        if caps is not None:
            caps.remove()
        gc.callbacks.remove(gc_pauses)
        # The run's objects back in view and collected now, between runs, not in the next window.
        gc.unfreeze()
        gc.collect()
        if not args.keep:
            try:
                _pg_drop(args.pg, name)
            except Exception as exc:  # noqa: BLE001 - said, not fatal to the report
                print(f"could not drop {name}: {exc}", file=sys.stderr)
    return out


def report(
    args: argparse.Namespace, run: int, work: Path, steady: Steady, gc_pauses: GcPauses
) -> dict[str, Any]:
    """The run's figures from what the fleet saw; every round also to `logs/run<N>-rounds.csv`."""
    fleet, ledger, window = steady.fleet, steady.ledger, steady.window
    window_start, window_end = steady.window_start, steady.window_end
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
    pushes = [d.to_central_s * 1000 for d in ok if d.to_central_s is not None]
    arrived = {
        status: [seconds * 1000 for post in steady.posts for s, seconds in post.arrivals if s == status]
        for status in ("in_work", "closed")
    }
    took = [(d.ended - d.started) * 1000 for d in ok]
    use_before, use_after = steady.use_before, steady.use_after
    cpu_before = sum(c for c, _, _ in use_before.values())
    cpu_after = sum(c for c, _, _ in use_after.values())
    return {
        "posts": len(steady.posts),
        "instances": args.instances,
        "serving": f"gateway+{args.gateway_workers}web" if args.gateway_workers else "gunicorn",
        "cpu_per_instance": args.cpu_per_instance or "uncapped",
        "central_cpu_capped_pct": round(steady.capped_pct, 1) if steady.capped_pct is not None else "n/a",
        "round_interval_s": args.interval,
        "safety_interval_s": max(args.interval, args.safety_interval or 0.0),
        "links": steady.links,
        "links_held": statistics.median(steady.held) if steady.held else 0,
        "links_held_min": min(steady.held) if steady.held else 0,
        "links_held_end": steady.held_end,
        "link_attempts": ledger.attempts,
        "link_connects": ledger.connects,
        "link_drops": ledger.drops,
        "link_failures": sum(ledger.failures.values()),
        "link_failure_reasons": dict(ledger.failures.most_common(4)) or "none",
        "rounds_target_per_s": round(_target(args, len(steady.posts), steady.links), 1),
        "rounds_per_s": round(len(ok) / window, 2),
        "rounds_woken_pct": round(100 * sum(d.woken for d in ok) / len(ok), 1) if ok else 0.0,
        "changes_notices": steady.notices,
        "round_p50_ms": round(_pct(took, 0.5), 1) if ok else "n/a",
        "round_p95_ms": round(_pct(took, 0.95), 1) if ok else "n/a",
        "simulator_gc_max_ms": round(max(gc_in_window, default=0.0) * 1000, 1),
        "simulator_gc_total_ms": round(sum(gc_in_window) * 1000, 1),
        "round_lag_p95_ms": round(_pct([d.lag * 1000 for d in in_window], 0.95), 1) if in_window else "n/a",
        "rounds_in_flight_at_end": steady.in_flight_at_end,
        "errors": sum(errors.values()),
        "errors_pct": round(100 * sum(errors.values()) / len(in_window), 2) if in_window else 0.0,
        "error_reasons": dict(errors.most_common(4)) or "none",
        "pushes": len(pushes),
        "emergency_to_central_p50_ms": round(_pct(pushes, 0.5), 1) if pushes else "n/a",
        "emergency_to_central_p95_ms": round(_pct(pushes, 0.95), 1) if pushes else "n/a",
        "protocols_sent": steady.changes_sent["closed"],
        "protocols_at_post": len(arrived["closed"]),
        "protocol_to_post_p50_ms": round(_pct(arrived["closed"], 0.5), 1) if arrived["closed"] else "n/a",
        "protocol_to_post_p95_ms": round(_pct(arrived["closed"], 0.95), 1) if arrived["closed"] else "n/a",
        "take_to_post_p95_ms": round(_pct(arrived["in_work"], 0.95), 1) if arrived["in_work"] else "n/a",
        "protocol_failures": dict(steady.protocol_fail) or "none",
        "central_pss_mb": round(max(steady.pss_mb), 1) if steady.pss_mb else "n/a",
        "central_cpu_cores": round((cpu_after - cpu_before) / window, 2),
        "central_cpu_cores_by_process": " ".join(
            f"{role}×{use_after[role][2]}="
            f"{(use_after[role][0] - use_before.get(role, (0.0, 0.0, 0))[0]) / window:.2f}"
            for role in sorted(use_after)
        ),
        "central_pss_mb_by_process": " ".join(
            f"{role}={use_after[role][1]:.0f}" for role in sorted(use_after)
        ),
        "central_cpu_ms_per_round": round((cpu_after - cpu_before) * 1000 / len(ok), 1) if ok else "n/a",
        "simulator_cpu_cores": round(steady.self_cpu_s / window, 2),
        "queue_page_p50_ms": round(_pct(steady.queue_ms, 0.5), 1) if steady.queue_ms else "n/a",
        "queue_page_p95_ms": round(_pct(steady.queue_ms, 0.95), 1) if steady.queue_ms else "n/a",
        "queue_page_failures": sum(steady.queue_fail.values()),
    }


def _log_errors(logs: Path, run: int) -> dict[str, int] | str:
    """The exceptions central's logs name (a 500 says no more), most frequent first."""
    found: Counter[str] = Counter()
    for path in logs.glob("central-*.log"):
        for line in path.read_text(errors="replace").splitlines():
            match = re.match(r"^([\w.]+(?:Error|Exception|Timeout|Exceeded)): (.{0,120})", line)
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
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="at most this many rounds in flight at once (0, default: no cap, as a real fleet)",
    )
    parser.add_argument("--timeout", type=float, default=30, help="s a request may take (the node's)")
    parser.add_argument(
        "--linked", type=int, default=-1, help="posts that hold a live link (default all; 0: rounds only)"
    )
    parser.add_argument(
        "--queue-requests", type=int, default=10, help="queue pages timed in the window (0: none)"
    )
    parser.add_argument(
        "--protocols",
        type=int,
        default=10,
        help="appeals taken in work and closed with a protocol in the window, each timed to its post"
        " (0: none)",
    )
    parser.add_argument(
        "--cpu-per-instance",
        type=float,
        default=None,
        help="cap each instance's processes together at this many cores (a cgroup each, as if on"
        " a host of its own; needs root); default: uncapped",
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
    if args.cpu_per_instance is not None and not 0.05 <= args.cpu_per_instance <= 64:
        raise SystemExit("--cpu-per-instance 0.05..64 cores")
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
