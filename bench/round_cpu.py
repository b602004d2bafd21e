"""Central's CPU for one sync round with nothing to send or receive, and for each of its requests.

A small, repeatable measure of what `fleet_load.py` measures among much else: one central
instance on a fresh PostgreSQL database with the Redis message queue, served as in production
(`faplink central run --workers N`: the supervisor, the realtime gateway and N gunicorn web
workers; with `--gateway-workers 0`, `central run --server gunicorn` alone), and `--posts`
really enrolled posts (fleet_load's `make_database`, `Post`, `start_centrals`). Each post pulls
its scope once; then, one kind at a time, `--rounds` operations are made `--threads` at
a time (coroutines on one event loop, as `fleet_load.py`), the posts taking turns:

- `round`: what the node's `SyncClient.run_round` sends when nothing changed on either side
  (its `_hello`, said or skipped by the node's own rule, and `_pull`; see `NodeRounds`), a
  post's rounds `--interval` s apart on its node's clock (15: the timer of a post polling);
- `hello`, `pull`: one signed request of that kind alone;
- `ping`: the unsigned ping, the floor of any request through the web stack.

Central's CPU (user + system, every process of the instance walked from /proc, by kind of
process) is read before and after each kind; the instance's idle CPU over the same wall time
(measured for `--idle` s before the load: the gateway's and workers' timers) is subtracted.

Prints `name: value` lines after `summary:`, medians of `--runs` runs (5):
`round_cpu_<kind>_ms_web` (the web workers' CPU ms per operation), `_ms_gateway`,
`_ms_total` (every process of the instance), `_per_s`, `round_cpu_round_hellos_pct` (rounds
that said hello), `round_cpu_idle_cores`, and the code measured.

    .venv/bin/python bench/round_cpu.py [--posts 20] [--rounds 600] [--threads 4]
        [--gateway-workers 2] [--kinds round,hello,pull,ping] [--interval 15] [--runs 5]

Only 127.0.0.1 is contacted; the database and the work directory are removed at the end
(unless `--keep`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import code_version, print_summary, stop_process  # noqa: E402
from fleet_load import (  # noqa: E402
    PG_ADMIN,
    REDIS_URL,
    _local,
    make_database,
    run_loop,
    start_centrals,
    total_usage,
)
from fleet_posts import PULL_LIMIT, Post, each  # noqa: E402
from queue_load import _pg, _pg_drop  # noqa: E402

KINDS = ("round", "hello", "pull", "ping")
#: The kinds of an instance's processes that serve HTTP requests (fleet_load's `_role`).
WEB = ("web_worker", "gunicorn_worker")


class NodeRounds:
    """No-change rounds as `SyncClient.run_round` makes them: `_hello` (a signed hello, unless
    the node's own rule, `sync.client.LastHello`, lets the round skip it: then the pull says the
    node's versions), then, with no rows to push, `_pull` from the post's cursor. Each post's
    clock moves on by `interval` s per round, as a node polling on its timer would see it.
    Code from before the hello could be skipped (no `LastHello`) says it at every round."""

    def __init__(self, interval: float) -> None:
        import sync.client
        from sync.migrations import schema_version

        #: None: the code measured is from before a round could skip its hello.
        self.last_hello: Any = getattr(sync.client, "LastHello", None)
        self.interval = interval
        self.schema, self.software = schema_version(), sync.client._software()
        self.clocks: dict[int, float] = {}
        self.hellos: dict[int, Any] = {}
        self.rounds = self.said = 0

    async def __call__(self, post: Post) -> None:
        now = self.clocks[post.index] = self.clocks.get(post.index, 0.0) + self.interval
        last = self.hellos.get(post.index)
        self.rounds += 1
        path = f"/pull?cursor={post.cursor}&limit={PULL_LIMIT}"
        fresh = last is not None and last.holds(self.schema, self.software, mono=now, wall=now)
        if self.last_hello is None or not fresh:
            await post.hello()
            if self.last_hello is not None:
                self.hellos[post.index] = self.last_hello(now, 0.0, self.schema, self.software)
            self.said += 1
        else:
            path += f"&protocol=1&schema={self.schema}"
        page = await post._json("GET", path)
        if page["records"] or page["more"]:
            raise RuntimeError("a no-change round received records: the measure would not be of one")


async def _pull(post: Post) -> None:
    await post._json("GET", f"/pull?cursor={post.cursor}&limit={PULL_LIMIT}")


async def _ping(post: Post) -> None:
    assert post.http is not None
    async with post.http.get(post.base + "/sync/v1/ping") as answer:
        answer.raise_for_status()


def _op(kind: str, rounds: NodeRounds) -> Callable[[Post], Awaitable[None]]:
    ops: dict[str, Callable[[Post], Awaitable[None]]] = {
        "round": rounds,
        "hello": Post.hello,
        "pull": _pull,
        "ping": _ping,
    }
    return ops[kind]


def _cpu_by_kind(pid: int) -> dict[str, float]:
    return {role: cpu for role, (cpu, _rss, _n) in total_usage([pid]).items()}


def _spent(
    before: dict[str, float], after: dict[str, float], idle: dict[str, float], wall: float
) -> dict[str, float]:
    """CPU seconds by kind of process between two readings, less the idle rate over `wall`."""
    return {role: after[role] - before.get(role, 0.0) - idle.get(role, 0.0) * wall for role in after}


async def measure(
    args: argparse.Namespace, pid: int, base: str, directory: Any, tokens: list[str]
) -> dict[str, float]:
    """Enrol and sync the posts, warm up, measure the idle instance, then each kind of operation."""
    out: dict[str, float] = {}
    posts = [Post(n, org, feldsher, base, 30) for n, (org, feldsher) in enumerate(directory.posts)]
    for post in posts:
        await post.open()
    try:
        await each(lambda post: post.enroll(tokens[post.index]), posts, args.threads)
        await each(Post.first_sync, posts, args.threads)
        # Warm up: every worker's connection, caches, the code's first paths.
        rounds = NodeRounds(args.interval)
        await each(rounds, posts * max(1, args.rounds // (5 * len(posts))), args.threads)

        started = _cpu_by_kind(pid)
        await asyncio.sleep(args.idle)
        idle = {k: v / args.idle for k, v in _spent(started, _cpu_by_kind(pid), {}, 0).items()}
        out["idle_cores"] = sum(idle.values())

        for kind in args.kinds:
            op = _op(kind, rounds)
            rounds.rounds = rounds.said = 0
            batch = [posts[n % len(posts)] for n in range(args.rounds)]
            before, wall = _cpu_by_kind(pid), time.monotonic()
            await each(op, batch, args.threads)
            wall = time.monotonic() - wall
            spent = _spent(before, _cpu_by_kind(pid), idle, wall)
            web = sum(v for role, v in spent.items() if role in WEB)
            out[f"{kind}_ms_web"] = 1000 * web / args.rounds
            out[f"{kind}_ms_gateway"] = 1000 * spent.get("gateway", 0.0) / args.rounds
            out[f"{kind}_ms_total"] = 1000 * sum(spent.values()) / args.rounds
            out[f"{kind}_per_s"] = args.rounds / wall
            if kind == "round":
                out["round_hellos_pct"] = 100 * rounds.said / max(1, rounds.rounds)
    finally:
        await asyncio.gather(*(post.close() for post in posts))
    return out


def one_run(args: argparse.Namespace, run: int, work: Path) -> dict[str, float]:
    from sync.db import database
    from sync.server import issue_token

    name = f"faplink_bench_round_cpu_{os.getpid()}_{run}"
    procs: list[tuple[Any, str]] = []
    try:
        url, directory = make_database(args.pg, name, args.posts)
        tokens = [issue_token(org, hours=2, note="round_cpu") for org, _ in directory.posts]
        database.close()
        database.initialize(None)  # from here on, a query in this process fails loudly
        procs = start_centrals(
            1, url, work / f"central-{run}", args.redis, work / "logs", args.gateway_workers
        )
        proc, base = procs[0]
        out = run_loop(measure(args, proc.pid, base, directory, tokens))
        return out
    finally:
        for one, _ in procs:
            stop_process(one, 20)
        _pg_drop(args.pg, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=600, help="operations of each kind per run")
    parser.add_argument("--threads", type=int, default=4, help="operations in flight at once")
    parser.add_argument(
        "--interval", type=float, default=15, help="s between a post's rounds, as its node's clock sees them"
    )
    parser.add_argument("--gateway-workers", type=int, default=2, help="0: gunicorn alone, no gateway")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, of {', '.join(KINDS)}")
    parser.add_argument("--idle", type=float, default=5.0, help="s of idle CPU measured before the load")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pg", default=PG_ADMIN)
    parser.add_argument("--redis", default=REDIS_URL)
    parser.add_argument("--keep", action="store_true", help="keep the work directory (central's logs)")
    args = parser.parse_args()
    args.kinds = [k for k in args.kinds.split(",") if k]
    if not set(args.kinds) <= set(KINDS):
        raise SystemExit(f"--kinds: of {', '.join(KINDS)}")
    if not (1 <= args.posts <= 1000 and 10 <= args.rounds <= 100_000 and 1 <= args.runs <= 20):
        raise SystemExit("--posts 1..1000, --rounds 10..100000, --runs 1..20")
    if args.threads > args.posts:
        raise SystemExit("--threads at most --posts: a post makes one request at a time")
    if not (1 <= args.threads <= 64 and 0 <= args.gateway_workers <= 16 and 0.5 <= args.idle <= 120):
        raise SystemExit("--threads 1..64, --gateway-workers 0..16, --idle 0.5..120")
    _local(args.pg, "--pg")
    _local(args.redis, "--redis")
    try:
        _pg(args.pg, ("SELECT 1", ()))
    except Exception as exc:  # noqa: BLE001
        reason = f"no PostgreSQL at {args.pg} ({type(exc).__name__})"
        print(f"\nsummary:\nround_cpu_status: not measured: {reason}")
        return 0
    import domain  # noqa: F401 - fills the sync registry

    commit, dirty = code_version()
    figures: dict[str, Any] = {
        "code_commit": commit + ("+changes" if dirty else ""),
        "load_1m_start": os.getloadavg()[0],
    }
    work = Path(tempfile.mkdtemp(prefix="faplink-round-cpu-"))
    runs: list[dict[str, float]] = []
    try:
        for run in range(1, args.runs + 1):
            result = one_run(args, run, work)
            runs.append(result)
            print(f"run {run}: " + ", ".join(f"{k}={v:.2f}" for k, v in result.items()), flush=True)
    except KeyboardInterrupt:
        print("interrupted: everything started was stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    figures["load_1m_end"] = os.getloadavg()[0]
    figures["serving"] = f"gateway+{args.gateway_workers}web" if args.gateway_workers else "gunicorn"
    figures["posts"], figures["rounds"], figures["threads"], figures["runs"] = (
        args.posts,
        args.rounds,
        args.threads,
        len(runs),
    )
    for key in runs[0]:
        values = [r[key] for r in runs]
        figures[f"round_cpu_{key}"] = round(statistics.median(values), 2)
        if key.endswith("_ms_web"):
            figures[f"round_cpu_{key}_runs"] = " ".join(f"{v:.2f}" for v in values)
    print_summary(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
