"""What the sync benchmarks share: a counting TCP relay, network namespaces, the workload.

Standalone on purpose (the benchmarks do not import the test suite): the relay
is a copy of the idea of tests/helpers/relay.py, plus a per-request ledger, a
fixed delay per direction and a one-shot cut.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import queue
import random
import re
import signal
import socket
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from hardware.simulators.ecg_export import ecg_export

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
T = TypeVar("T")

# -- small helpers -------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def start_process(
    args: list[str],
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stdin: int | None = subprocess.DEVNULL,
    stdout: int | None = None,
) -> subprocess.Popen[bytes]:
    """A child in its own process group; stderr (and stdout unless piped) to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    return subprocess.Popen(
        args,
        stdin=stdin,
        stdout=stdout if stdout is not None else log,
        stderr=log,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        start_new_session=True,
    )


def stop_process(proc: subprocess.Popen[Any] | None, timeout: float = 10.0) -> None:
    """SIGTERM the child's process group, SIGKILL it if it lingers; reap it."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout)


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process and its live descendants (threads included)
    have used so far: gunicorn serves from a worker under its master."""
    total = 0.0
    for one in _tree(pid):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    return total


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        one = todo.pop()
        out.append(one)
        todo.extend(parents.get(one, []))
    return out


def children_cpu_seconds() -> float:
    """CPU seconds of this process's reaped children so far (getrusage RUSAGE_CHILDREN)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_until(
    check: Callable[[], bool],
    timeout: float,
    what: str,
    process: subprocess.Popen[Any] | None = None,
    log: Path | None = None,
) -> None:
    """Poll `check`; fail at `timeout`, or at once if `process` exits (with its log's tail)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.is_file() else ""
            raise RuntimeError(f"exited with code {process.returncode} before {what}:\n{tail}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def code_version() -> tuple[str, bool]:
    """The commit the benchmark runs against, and whether the code has uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "i18n", "sync", "domain", "central", "node", "faplink"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown", False
    return commit or "unknown", bool(dirty)


# -- network namespaces ------------------------------------------------------------

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def print_summary(figures: dict[str, Any]) -> None:
    """The `name: value` lines after `summary:` that every benchmark ends with."""
    print("\nsummary:")
    for key, value in figures.items():
        print(f"{key}: {value}")


def enter_netns(name: str) -> None:
    """Move the calling thread (only) into network namespace `name`."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)


def in_netns(name: str | None, fn: Callable[[], T]) -> T:
    """Run `fn` in a fresh thread inside namespace `name` (the caller's own if None)."""
    if name is None:
        return fn()
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            enter_netns(name)
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller
            box["error"] = exc

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


# -- the relay -------------------------------------------------------------------

_METHODS = (b"GET ", b"POST ", b"PUT ", b"PATCH ", b"DELETE ", b"HEAD ", b"COPY ")
_COLLAPSE = [
    (re.compile(r"[0-9a-f]{64}"), "{sha}"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "{uuid}"),
    (re.compile(r"[0-9a-f]{32}"), "{id}"),
    (re.compile(r"/_local/[^/?]+"), "/_local/{id}"),
]


def request_label(first_line: bytes) -> str:
    """`POST /sync/v1/push` from a request line, ids collapsed, query dropped."""
    try:
        method, target = first_line.decode("latin-1").split(" ")[:2]
    except ValueError:
        return "?"
    path = target.split("?", 1)[0]
    for pattern, repl in _COLLAPSE:
        path = pattern.sub(repl, path)
    return f"{method} {path}"


@dataclass
class Counters:
    up: int = 0  # client → server
    down: int = 0  # server → client


@dataclass
class RequestStat:
    count: int = 0
    up: int = 0
    down: int = 0
    seconds: float = 0.0


@dataclass
class _Exchange:
    label: str
    started: float
    last: float


class Relay:
    """Listen on (listen_host, port) and forward to (target_host, target_port), counting bytes.

    - `delay`: seconds each chunk is held before it is forwarded, in each direction;
    - `cut_up_after`: abort the connection (RST both ways) after that many more bytes up;
    - a ledger of HTTP exchanges per request label (bytes both ways, time from the
      request's first byte to its response's last byte), for per-phase figures.
    `netns`: create the sockets inside that network namespace.
    """

    def __init__(
        self,
        target_port: int,
        *,
        target_host: str = "127.0.0.1",
        listen_host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        netns: str | None = None,
    ) -> None:
        self.target = (target_host, target_port)
        self.delay = delay
        self.netns = netns
        self.counters = Counters()
        self.cut_up_after: int | None = None
        self.cuts = 0
        self.connections = 0
        self.ledger: dict[str, RequestStat] = {}
        self.first_byte: float | None = None
        self.last_byte: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._server = in_netns(netns, lambda: socket.create_server((listen_host, port)))
        self.port = self._server.getsockname()[1]
        self._accept_thread = threading.Thread(target=self._accept_in_ns, daemon=True)
        self._accept_thread.start()

    # -- control ---------------------------------------------------------------

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.counters.up, self.counters.down

    def reset(self) -> None:
        with self._lock:
            self.counters = Counters()
            self.ledger = {}
            self.first_byte = self.last_byte = None
            self.connections = 0

    def close(self) -> None:
        self._stop.set()
        try:
            self._server.close()
        except OSError:
            pass
        for conn in list(self._conns):
            _abort(conn)

    # -- plumbing ----------------------------------------------------------------

    def _accept_in_ns(self) -> None:
        if self.netns is not None:
            enter_netns(self.netns)
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                _abort(client)
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connections += 1
            self._conns += [client, upstream]
            state: dict[str, _Exchange | None] = {"x": None}
            ended: list[str] = []  # the directions whose sender has closed cleanly
            for src, dst, direction in ((client, upstream, "up"), (upstream, client, "down")):
                threading.Thread(
                    target=self._pump, args=(src, dst, direction, state, ended), daemon=True
                ).start()

    def _account(self, data: bytes, direction: str, state: dict[str, _Exchange | None]) -> bool:
        """Count a chunk; returns False if the armed cut swallowed (part of) it."""
        now = time.monotonic()
        with self._lock:
            if self.first_byte is None:
                self.first_byte = now
            self.last_byte = now
            if direction == "up":
                if data.startswith(_METHODS):
                    self._close_exchange(state)
                    label = request_label(data.split(b"\r\n", 1)[0])
                    state["x"] = _Exchange(label, now, now)
                    self.ledger.setdefault(label, RequestStat()).count += 1
                self.counters.up += len(data)
            else:
                self.counters.down += len(data)
            exchange = state["x"]
            if exchange is not None:
                stat = self.ledger.setdefault(exchange.label, RequestStat())
                if direction == "up":
                    stat.up += len(data)
                else:
                    stat.down += len(data)
                    exchange.last = now
        return True

    def _close_exchange(self, state: dict[str, _Exchange | None]) -> None:
        exchange = state["x"]
        if exchange is not None:
            stat = self.ledger.setdefault(exchange.label, RequestStat())
            stat.seconds += max(0.0, exchange.last - exchange.started)
            state["x"] = None

    def _pump(
        self,
        src: socket.socket,
        dst: socket.socket,
        direction: str,
        state: dict[str, _Exchange | None],
        ended: list[str],
    ) -> None:
        held: queue.Queue[tuple[float, bytes] | None] | None = None
        sender: threading.Thread | None = None
        if self.delay > 0:
            held = queue.Queue(maxsize=64)
            sender = threading.Thread(target=self._release, args=(held, src, dst), daemon=True)
            sender.start()
        clean = False
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    clean = True
                    break
                cut = False
                if direction == "up":
                    with self._lock:
                        budget = self.cut_up_after
                        if budget is not None:
                            if len(data) >= budget:
                                data, cut = data[:budget], True
                                self.cut_up_after = None
                                self.cuts += 1
                            else:
                                self.cut_up_after = budget - len(data)
                if data:
                    self._account(data, direction, state)
                    if held is not None and sender is not None:
                        if not _put_while(held, (time.monotonic() + self.delay, data), sender):
                            break
                    else:
                        dst.sendall(data)
                if cut:
                    # The link breaks now: what is still held is lost with it.
                    _abort(src)
                    _abort(dst)
                    break
        except OSError:
            pass
        finally:
            if held is not None and sender is not None:
                # A clean end: what is held still goes, then the close.
                if _put_while(held, None, sender) and not self._stop.is_set():
                    sender.join(timeout=self.delay + 60)
            with self._lock:
                self._close_exchange(state)
                if clean:
                    ended.append(direction)
                both = len(ended) == 2
            if clean and not self._stop.is_set():
                # Pass the sender's FIN on after what it sent, not a RST that would drop what is
                # still in the send buffer: a server that closes after its response (Connection:
                # close, as PouchDB asks) would have its body cut short.
                _half_close(dst)
                if both:
                    _close(src)
                    _close(dst)
            else:
                _abort(src)
                _abort(dst)

    @staticmethod
    def _release(
        held: queue.Queue[tuple[float, bytes] | None], src: socket.socket, dst: socket.socket
    ) -> None:
        """Forward each held chunk once its time has come (a fixed one-way delay)."""
        try:
            while True:
                item = held.get()
                if item is None:
                    return
                due, data = item
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                dst.sendall(data)
        except OSError:
            _abort(src)
            _abort(dst)

    def ledger_lines(self, prefix: str) -> list[str]:
        out = []
        with self._lock:
            items = sorted(self.ledger.items(), key=lambda kv: -(kv[1].up + kv[1].down))
        for label, stat in items:
            if not (stat.count or stat.up or stat.down):
                continue  # an exchange from before the last reset() that ended since
            out.append(
                f"{prefix}{label:<44} n={stat.count:<5} up={stat.up:>10,} down={stat.down:>10,}"
                f"  time={stat.seconds:7.2f}s"
            )
        out.append(f"{prefix}(TCP connections opened through the relay: {self.connections})")
        return out


def _put_while(q: queue.Queue[Any], item: Any, consumer: threading.Thread) -> bool:
    """Put `item`, waiting for room while `consumer` lives; False if it died first."""
    while consumer.is_alive():
        try:
            q.put(item, timeout=0.5)
            return True
        except queue.Full:
            continue
    return False


def _half_close(sock: socket.socket) -> None:
    """No more data this way: a FIN once everything sent before has gone."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


def _abort(sock: socket.socket) -> None:
    """RST to the peer and wake the thread reading the other way."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


# -- the workload -------------------------------------------------------------------

_LAST = ["Иванова", "Петрова", "Сидорова", "Кузнецова", "Смирнова", "Попова", "Соколова"]
_LAST_M = ["Иванов", "Петров", "Сидоров", "Кузнецов", "Смирнов", "Попов", "Соколов"]
_FIRST_F = ["Анна", "Мария", "Елена", "Ольга", "Нина", "Вера"]
_FIRST_M = ["Иван", "Пётр", "Олег", "Юрий", "Борис", "Илья"]
_MIDDLE_F = ["Ивановна", "Петровна", "Олеговна", "Юрьевна"]
_MIDDLE_M = ["Иванович", "Петрович", "Олегович", "Юрьевич"]


def _patient(rng: random.Random, n: int, organization: str) -> dict[str, Any]:
    """A patient as a feldsher registers one: names, birth date, sex, phone, post.

    Fields left empty (СНИЛС, полис, address, representative) are absent, so that
    the application data is about 230-250 bytes of JSON; each engine adds its own
    metadata to that.
    """
    female = rng.random() < 0.55
    # Adults (18+ on any day the benchmark runs): a child needs a legal representative and a
    # pediatrician, which the workload does not model.
    born = date(1935, 1, 1) + timedelta(days=rng.randint(0, 365 * 70))
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "last_name": rng.choice(_LAST if female else _LAST_M),
        "first_name": rng.choice(_FIRST_F if female else _FIRST_M),
        "middle_name": rng.choice(_MIDDLE_F if female else _MIDDLE_M),
        "birth_date": born.isoformat(),
        "sex": "female" if female else "male",
        "phone": f"+7912{n:07d}",
        "organization": organization,
    }


def app_json(record: dict[str, Any]) -> bytes:
    """The record's application data as compact JSON (the size every engine starts from)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class Workload:
    """Records and files made once, from a seed, and given to every engine alike."""

    root: Path
    patients: list[dict[str, Any]]
    files: list[dict[str, Any]] = field(default_factory=list)  # id, appeal, patient, filename, …

    @property
    def record_bytes(self) -> int:
        return sum(len(app_json(p)) for p in self.patients)

    @property
    def blob_bytes(self) -> int:
        return sum(int(f["size"]) for f in self.files)

    def blob_path(self, sha: str) -> Path:
        return self.root / "blobs" / f"{sha}.pdf"

    def save(self) -> Path:
        path = self.root / "workload.json"
        path.write_text(
            json.dumps(
                {"patients": self.patients, "files": self.files},
                ensure_ascii=False,
                separators=(",", ":"),
            )
        )
        return path


def make_workload(
    root: Path,
    *,
    records: int,
    files: int,
    file_size: int,
    organization: str,
    seed: int = 20261128,
    file_kind: str = "pdf",
) -> Workload:
    """`records` patients of ~230 bytes of JSON each and `files` files of `file_size` bytes:
    "pdf", random bytes after a PDF header (as incompressible as a scan or a photo), or
    "ecg", a 12-lead ECG exported as text (what gzip shrinks)."""
    rng = random.Random(seed)
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    patients = [_patient(rng, n, organization) for n in range(records)]
    work = Workload(root, patients)
    for n in range(files):
        if file_kind == "ecg":
            data = ecg_export(rng, file_size)
            filename, content_type = f"ecg-{n + 1:02d}.txt", "text/plain"
        else:
            data = b"%PDF-1.4\n" + rng.randbytes(file_size - 9)
            filename, content_type = f"ecg-{n + 1:02d}.pdf", "application/pdf"
        sha = hashlib.sha256(data).hexdigest()
        work.blob_path(sha).write_bytes(data)
        work.files.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "appeal": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "patient": patients[n % len(patients)]["id"],
                "filename": filename,
                "content_type": content_type,
                "size": len(data),
                "sha256": sha,
            }
        )
    work.save()
    return work


# -- output ------------------------------------------------------------------------


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.2f} {unit}"
        n /= 1024
    return f"{n}"
