"""The simulated posts of `fleet_load.py`: one event loop holding a thousand posts.

Each post is what central sees of a real one: its own node id and Ed25519 key, signing every
request through the node's `sync.session.CentralSession` (central's clock read as the node
reads it), its own kept-alive HTTP connection, its pull cursor, its hello kept as
`sync.client.LastHello` keeps it, and its own live link: a Socket.IO connection to "/node"
with the node's signed handshake (`node.live.link.LINK_PATH`), its «changes» filter (a
notice that only names the post's own push does not wake it) and its backoff
(`retry_base` × 2^failures up to `retry_cap`, drawn from the upper half).

Why not the node's own classes, as the first version of this benchmark used: the node's
`CentralLink` is a thread plus python-socketio's reader, writer and ping threads, so a thousand
posts were ~3,000 threads in one process on the same two cores as central. One of them falling
behind (a collection stopping them all for 3–26 s, a burst of link timers) dropped hundreds of
links at once and measured the simulator, not central. Here the same requests and the same link
protocol run as coroutines on uvloop with aiohttp (python-socketio's `AsyncClient`), a few
percent of a core for the whole fleet; the rounds are timed by the same clock as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

import aiohttp
import socketio

from node.live.link import LINK_PATH, NODE_NAMESPACE, RETRY_BASE_S, RETRY_CAP_S
from sync.worker import BACKOFF_BASE_S, BACKOFF_CAP_S, PROBE_INTERVAL_S, SPREAD_CAP, backoff, jittered

#: The page size of a pull (the node's first batch size).
PULL_LIMIT = 200

T = TypeVar("T")


class RoundError(Exception):
    """A round that failed, named by its kind (never its text, which may name the post)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unreachable(RoundError):
    """No answer from central (refused, cut, timed out): the node's TransportError."""


def error_code(status: int, content: bytes) -> str:
    """What central's error answer names (`{"error": …}`), else its status."""
    try:
        return str(json.loads(content).get("error") or status)
    except (ValueError, AttributeError):
        return str(status)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RoundError):
        return exc.reason
    return type(exc).__name__  # TimeoutError, ClientConnectorError, ServerDisconnectedError, …


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
        self.timeout = timeout
        self.key = NodeKey.generate()
        # Signs and keeps central's clock; its own requests.Session is not used.
        self.session = CentralSession(base, self.node_id, self.key, verify=False, timeout=timeout)
        self.http: aiohttp.ClientSession | None = None  # opened in the loop (`open`)
        self.cursor = 0
        self.last_hello: Any = None  # sync.client.LastHello: what the post's last hello agreed
        self.link: Link | None = None
        self.clock: Any = None
        self.pushed_ids: list[str] = []
        # The scheduler's state (Fleet; one event loop, so no lock).
        self.running = False
        self.woken = False  # «changes» came during a round: another round after it
        self.due = math.inf  # when its next round is scheduled
        self.due_woken = False  # …and whether the link asked for it
        self.rescheduled: asyncio.Event | None = None
        self.rounds = 0  # rounds ended
        self.spread = False  # its timer put out of step with the others' (Fleet)
        #: appeal id → (the status awaited, since when): a consultant's change to see arrive
        self.awaited: dict[str, tuple[str, float]] = {}
        self.arrivals: list[tuple[str, float]] = []  # (status, seconds from the change to its pull)
        self.failures = 0  # rounds failed in a row (the node's backoff)
        self.offline = False  # the last failure was central not answering: probe it

    async def open(self) -> None:
        """The post's HTTP client: its own kept-alive connection(s), as a kiosk has."""
        self.http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=None),
        )
        self.rescheduled = asyncio.Event()

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()

    # The requests SyncClient makes (sync/client.py: _request, _signed_hello, _pull, _push's
    # last batch), signed by the node's session: gzipped JSON, decoded by sync.wire.
    async def _json(self, method: str, path: str, payload: Any = None) -> Any:
        from sync.wire import decode, encode

        assert self.http is not None
        body = encode(payload) if payload is not None else b""
        headers = self.session.sign(method, f"/sync/v1{path}", body)
        if payload is not None:
            headers |= {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        try:
            async with self.http.request(
                method, f"{self.base}/sync/v1{path}", data=body, headers=headers
            ) as response:
                content = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unreachable(type(exc).__name__) from exc
        if status >= 400:
            raise RoundError(f"http_{status}_{error_code(status, content)}")
        return decode(content, gzipped=False)

    async def enroll(self, token: str) -> None:
        from sync.client import request_enrolment

        answer = await asyncio.to_thread(
            request_enrolment, self.base, token, self.key, self.node_id, verify=False
        )
        self.session.clock_offset_ms = int(answer["server_time_ms"] - time.time() * 1000)

    async def ping(self) -> bool:
        """Whether central answers at all (`CentralSession.ping`: unsigned, 3 s)."""
        from sync.session import PING_PATH

        assert self.http is not None
        try:
            async with self.http.get(self.base + PING_PATH, timeout=aiohttp.ClientTimeout(total=3)) as answer:
                return answer.status < 400
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def measure_clock(self) -> None:
        """Central's clock by an unsigned ping, as `CentralSession.measure_clock`."""
        from sync.session import PING_PATH, received_at

        assert self.http is not None
        started = time.time()
        async with self.http.get(self.base + PING_PATH) as response:
            response.raise_for_status()
            answer = await response.json()
        self.session.clock_read(answer["server_time_ms"], started, time.time(), received_at(answer))

    async def hello(self) -> None:
        from sync import PROTOCOL_VERSION
        from sync.client import _software
        from sync.migrations import schema_version
        from sync.session import received_at

        started = time.time()
        answer = await self._json(
            "POST",
            "/hello",
            {"protocol": PROTOCOL_VERSION, "schema": schema_version(), "software": _software()},
        )
        if isinstance(answer.get("server_time_ms"), int):
            self.session.clock_read(answer["server_time_ms"], started, time.time(), received_at(answer))

    async def sync_round(self) -> None:
        """A round with nothing to push, as `SyncClient.run_round` makes it: a hello only when the
        last one no longer holds (`sync.client.LastHello`: every few minutes), else the pull says
        the post's schema."""
        from sync.client import LastHello, _software
        from sync.migrations import schema_version

        schema, software = schema_version(), _software()
        if self.last_hello is not None and self.last_hello.holds(schema, software):
            await self.pull(schema=schema)
            return
        await self.hello()
        self.last_hello = LastHello.now(schema, software)
        await self.pull()

    async def pull(self, page: dict[str, Any] | None = None, schema: int | None = None) -> int:
        """Pull until central has nothing more (the records are counted, not stored); how many."""
        got = 0
        for _ in range(10_000):
            if page is None:
                said = f"&schema={schema}" if schema is not None else ""
                page = await self._json("GET", f"/pull?cursor={self.cursor}&limit={PULL_LIMIT}{said}")
            records = page.get("records", [])
            got += len(records)
            if self.awaited:
                self._arrived(records)
            self.cursor = int(page["cursor"])
            if not page.get("more"):
                return got
            page = None
        raise RoundError("pull_endless")

    def await_change(self, appeal_id: str, status: str) -> None:
        """Time from now until a pull brings appeal `appeal_id` in `status` (a consultant's doing)."""
        self.awaited[appeal_id] = (status, time.monotonic())

    def _arrived(self, records: list[dict[str, Any]]) -> None:
        now = time.monotonic()
        for record in records:
            awaited = self.awaited.get(record.get("id", ""))
            if awaited and record.get("model") == "appeal" and record["fields"].get("status") == awaited[0]:
                del self.awaited[record["id"]]
                self.arrivals.append((awaited[0], now - awaited[1]))

    async def first_sync(self) -> int:
        await self.measure_clock()
        await self.hello()
        return await self.pull()

    async def push(self, specialty: str) -> float:
        """A new patient and an emergency appeal for them, pushed with the pull asked along;
        when central answered (time.monotonic()): the appeal is there."""
        records = self.new_records(specialty)
        answer = await self._json(
            "POST", "/push", {"records": records, "pull": {"cursor": self.cursor, "limit": PULL_LIMIT}}
        )
        answered = time.monotonic()
        if answer.get("refused"):
            raise RoundError("refused:" + str(answer["refused"][0].get("code", answer["refused"][0]))[:60])
        self.pushed_ids += [r["id"] for r in records]
        await self.pull(answer["pull"] if isinstance(answer.get("pull"), dict) else None)
        return answered

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


async def each(op: Callable[[Post], Awaitable[T]], posts: list[Post], in_flight: int) -> list[T]:
    """`op(post)` for every post of `posts`, `in_flight` at a time; their results in order."""
    slots = asyncio.Semaphore(in_flight)

    async def one(post: Post) -> T:
        async with slots:
            return await op(post)

    return list(await asyncio.gather(*(one(post) for post in posts)))


# -- the live links --------------------------------------------------------------------


@dataclass
class LinkLedger:
    """What happened to the links: connection attempts, successes, drops, «changes» received
    (own pushes coming back included) and why attempts failed."""

    attempts: int = 0
    connects: int = 0
    drops: int = 0
    notices: int = 0
    failures: Counter[str] = field(default_factory=Counter)

    def failed(self, exc: BaseException) -> None:
        text = str(exc).lower()
        reason = type(exc).__name__
        if "timed out" in text or "timeout" in text:
            reason += ":timeout"
        elif "refused" in text or "unauthorized" in text:
            reason += ":refused"
        self.failures[reason] += 1


class Link:
    """The post's live link as `node.live.link.CentralLink` keeps it, as a coroutine."""

    def __init__(
        self,
        post: Post,
        ledger: LinkLedger,
        on_changes: Callable[[], None],
        on_drop: Callable[[], None],
        *,
        retry_base: float = RETRY_BASE_S,
        retry_cap: float = RETRY_CAP_S,
    ) -> None:
        self.post = post
        self.ledger = ledger
        self.on_changes = on_changes
        self.on_drop = on_drop
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.up = False
        self.stopping = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.client: socketio.AsyncClient | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self.stopping.set()
        client = self.client
        if client is not None:
            try:
                await asyncio.wait_for(client.disconnect(), 5)
            except Exception:  # noqa: BLE001 - already gone
                pass
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, 10)
            except Exception:  # noqa: BLE001 - stopping: whatever it was doing is over
                self.task.cancel()

    def _headers(self) -> dict[str, str]:
        """Signed afresh for each connection attempt, as the node's (a nonce is never reused)."""
        self.ledger.attempts += 1
        return self.post.session.sign("GET", LINK_PATH, b"")

    async def _changes(self, data: Any = None) -> None:
        self.ledger.notices += 1
        changed_by = data.get("changed_by", []) if isinstance(data, dict) else []
        if not changed_by or any(replica != self.post.node_id for replica in changed_by):
            self.on_changes()  # not only our own push coming back

    async def _connected(self) -> None:
        self.ledger.connects += 1
        self.up = True
        self.on_changes()  # catch up on what changed while it was not listening

    async def _run(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            client = socketio.AsyncClient(
                reconnection=False, logger=False, engineio_logger=False, http_session=self.post.http
            )
            client.on("changes", self._changes, namespace=NODE_NAMESPACE)
            client.on("connect", self._connected, namespace=NODE_NAMESPACE)
            self.client = client
            try:
                await client.connect(
                    self.post.base, headers=self._headers, namespaces=[NODE_NAMESPACE], wait_timeout=10
                )
                failures = 0
                waiting = asyncio.ensure_future(client.wait())  # until the link drops
                stopping = asyncio.ensure_future(self.stopping.wait())
                await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
                for task in (waiting, stopping):
                    task.cancel()
            except Exception as exc:  # noqa: BLE001 - refused, unreachable, or dropped while connecting
                failures += 1
                self.ledger.failed(exc)
            finally:
                was_up, self.up = self.up, False
                if was_up and not self.stopping.is_set():  # a drop, not the benchmark's end
                    self.ledger.drops += 1
                    self.on_drop()
                try:
                    await client.disconnect()
                except Exception:  # noqa: BLE001 - already gone
                    pass
            pause = backoff(failures, self.retry_base, self.retry_cap, doublings=8)
            try:
                await asyncio.wait_for(self.stopping.wait(), pause)
            except TimeoutError:
                pass


# -- the rounds --------------------------------------------------------------------------


@dataclass
class Done:
    kind: str  # "sync" (nothing to send) or "push"
    started: float
    ended: float
    lag: float  # how late it started after it was due
    woken: bool = False  # started by the link («changes», or the link coming up), not the timer
    error: str | None = None
    unreachable: bool = False  # the error was central not answering
    #: a push: from the round's start (a write starts it at once) to central holding the appeal
    to_central_s: float | None = None


@dataclass
class Fleet:
    """Runs every post's rounds as its sync worker would: one coroutine per post.

    The pause after a round is `sync.worker.SyncWorker`'s: `safety` s while the post's link is
    up (central pushes its changes), `interval` s without it; ±20 %; after failed rounds its
    backoff, with its pings every 5 s while central does not answer and a round within a few
    seconds once it does. A pusher's feldsher writes
    every `interval` s and the write starts a round at once (`node/live/hooks.py`), so pushers
    round every `interval` whatever the link. A link that drops during a safety pause brings the
    next round within `interval`. The first timed pause in a post's steady state (its link up, or
    it has none) is drawn from 0 to one pause, so that the window sees the timers of a fleet
    long up, out of step — not the echo of the links' ramp. `in_flight` > 0 caps the rounds
    running at once (0: none, as a real fleet, whose posts do not wait for each other)."""

    posts: list[Post]
    interval: float
    pushers: int
    specialty: str
    deadline: float
    safety: float = 0.0  # 0: as `interval` (every post polls, linked or not)
    in_flight: int = 0
    done: list[Done] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []
        self.slots = asyncio.Semaphore(self.in_flight) if self.in_flight > 0 else None

    def linked(self, post: Post) -> bool:
        return post.link is not None and post.link.up

    def pause(self, post: Post) -> float:
        """The post's pause between rounds now, before the jitter."""
        if post.index < self.pushers or not self.linked(post):
            return self.interval
        return max(self.interval, self.safety)

    def _schedule(self, post: Post, due: float, woken: bool = False) -> None:
        post.due, post.due_woken = due, woken
        assert post.rescheduled is not None
        post.rescheduled.set()

    def trigger(self, post: Post) -> None:
        """Central said «changes» (or the link just came up): a round now, or after the current one."""
        if post.running:
            post.woken = True
        else:
            self._schedule(post, time.monotonic(), woken=True)

    def dropped(self, post: Post) -> None:
        """The post's link went down: no longer a safety pause, a poll within `interval`."""
        if not post.running:
            soon = time.monotonic() + jittered(self.interval)
            if soon < post.due:
                self._schedule(post, soon)

    def start(self) -> None:
        now = time.monotonic()
        loop = asyncio.get_running_loop()
        for post in self.posts:
            self._schedule(post, now + random.uniform(0, self.interval))
            self.tasks.append(loop.create_task(self._run(post)))

    async def _run(self, post: Post) -> None:
        assert post.rescheduled is not None
        while True:
            now = time.monotonic()
            if now >= self.deadline:
                return
            if post.due > now:
                post.rescheduled.clear()
                wait = min(post.due, self.deadline) - now
                if post.offline:
                    wait = min(wait, PROBE_INTERVAL_S)
                try:
                    await asyncio.wait_for(post.rescheduled.wait(), wait)
                except TimeoutError:
                    if post.offline and time.monotonic() < post.due and await post.ping():
                        # Central answers again: the node syncs soon, spread over a few seconds.
                        post.offline = False
                        soon = time.monotonic() + random.uniform(0, min(self.interval, SPREAD_CAP))
                        self._schedule(post, min(post.due, soon))
                continue
            due, woken = post.due, post.due_woken
            post.running, post.due = True, math.inf
            async with self.slots or contextlib.nullcontext():
                done = await self._round(post, due, woken)
            self.done.append(done)
            post.running = False
            post.rounds += 1
            if done.error is None:
                post.failures, post.offline = 0, False
            else:
                post.failures += 1
                post.offline = done.unreachable
            if post.woken:
                post.woken = False
                self._schedule(post, done.ended, woken=True)
            elif post.failures:
                self._schedule(post, done.ended + backoff(post.failures, BACKOFF_BASE_S, BACKOFF_CAP_S))
            elif not post.spread and (post.link is None or self.linked(post)):
                # Once in its steady pause: out of step with the others, as in a fleet long up.
                post.spread = True
                self._schedule(post, done.ended + random.uniform(0, self.pause(post)))
            else:
                self._schedule(post, done.ended + jittered(self.pause(post)))

    async def _round(self, post: Post, due: float, woken: bool) -> Done:
        started = time.monotonic()
        kind = "push" if post.index < self.pushers else "sync"
        done = Done(kind, started, started, started - due, woken)
        try:
            if kind == "push":  # rows to push: the node says hello first
                await post.hello()
                done.to_central_s = await post.push(self.specialty) - started
            else:
                await post.sync_round()
        except Exception as exc:  # noqa: BLE001 - counted by its kind, the run goes on
            done.error = _reason(exc)
            done.unreachable = isinstance(exc, Unreachable)
        done.ended = time.monotonic()
        return done

    async def join(self, timeout: float) -> None:
        """Let the rounds in flight end (none starts after the deadline), at most `timeout` s."""
        if not self.tasks:
            return
        _, pending = await asyncio.wait(self.tasks, timeout=timeout)
        for task in pending:
            task.cancel()
