"""A shaped link between a post and central, made of network namespaces (as bench/shaped_link.py).

- two namespaces joined by a veth pair, named after this process so parallel runs
  never meet; the addresses exist only inside them;
- rate: `tc … tbf` on both veth ends (this kernel has no netem), with a queue of
  half a second (at least 6 kB: slow radio links have deep buffers too);
- loss: `iptables -A INPUT -i <veth> -m statistic --mode random --probability P
  -j DROP` in both namespaces (dropped on arrival, so TCP sees a real loss);
- round trip: `DelayRelay`, a TCP relay in the post's namespace that holds every
  chunk `delay` seconds each way (a split connection: TCP across the veth sees the
  short round trip, the node the long one).
`down()` deletes the namespaces, which takes the veth, its qdisc and rules with it.
"""

from __future__ import annotations

import ctypes
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tests.helpers.relay import abort_socket

__all__ = ["ShapedLink", "DelayRelay", "RelayProcess", "in_netns", "why_not_here", "PRIORITY"]

#: `nice` for the processes on the link (central, the node, the relay): a machine busy with
#: other work must not stall them, or their timing — not the link's — is what gets measured.
PRIORITY = ["nice", "-n", "-10"]

T = TypeVar("T")
_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def why_not_here() -> str | None:
    """None if namespaces, tbf and iptables work here; else why not."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "tc", "iptables"):
        if shutil.which(tool) is None:
            return f"no `{tool}` command (Debian: apt-get install -y iproute2 iptables)"
    return None


def _sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(args), capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")
    return done


def enter_netns(name: str) -> None:
    """Move the calling thread (only) into network namespace `name`."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)


def in_netns(name: str, fn: Callable[[], T]) -> T:
    """Run `fn` on a fresh thread inside namespace `name`; its result or its exception."""
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


class ShapedLink:
    """Namespaces `post` and `centre`, a veth pair between them; `shape()` sets rate and loss."""

    POST_IP, CENTRE_IP = "10.78.0.1", "10.78.0.2"

    def __init__(self) -> None:
        tag = str(os.getpid())
        self.post, self.centre = f"flq-post-{tag}", f"flq-centre-{tag}"
        self.post_if, self.centre_if = f"flqp{tag}"[:15], f"flqc{tag}"[:15]
        self.rate_kbit: int | None = None
        self.loss: float | None = None

    def up(self) -> None:
        self.down()  # leftovers of a run that was killed with this pid
        _sh("ip", "netns", "add", self.post)
        _sh("ip", "netns", "add", self.centre)
        _sh("ip", "link", "add", self.post_if, "type", "veth", "peer", "name", self.centre_if)
        for space, dev, addr in self._ends():
            _sh("ip", "link", "set", dev, "netns", space)
            _sh("ip", "-n", space, "link", "set", "lo", "up")
            _sh("ip", "-n", space, "addr", "add", f"{addr}/30", "dev", dev)
            _sh("ip", "-n", space, "link", "set", dev, "up")

    def _ends(self) -> list[tuple[str, str, str]]:
        return [(self.post, self.post_if, self.POST_IP), (self.centre, self.centre_if, self.CENTRE_IP)]

    def shape(self, rate_kbit: int, loss: float) -> None:
        """Both directions: `rate_kbit` through tbf, a random `loss` (0..1) of arriving packets."""
        rate_bytes = rate_kbit * 1000 // 8
        burst = max(1600, rate_bytes // 100)
        limit = max(6000, rate_bytes // 2)
        for space, dev, _ in self._ends():
            qdisc = ["tbf", "rate", f"{rate_kbit}kbit", "burst", str(burst), "limit", str(limit)]
            _sh("ip", "netns", "exec", space, "tc", "qdisc", "replace", "dev", dev, "root", *qdisc)
            rule = [
                "-i",
                dev,
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                str(loss),
                "-j",
                "DROP",
            ]
            verb = ["-R", "INPUT", "1"] if self.loss is not None else ["-A", "INPUT"]
            _sh("ip", "netns", "exec", space, "iptables", *verb, *rule)
        self.rate_kbit, self.loss = rate_kbit, loss

    def describe(self) -> str:
        out = []
        for space, dev, _ in self._ends():
            qdisc = _sh("ip", "netns", "exec", space, "tc", "qdisc", "show", "dev", dev, check=False).stdout
            rules = _sh("ip", "netns", "exec", space, "iptables", "-S", "INPUT", check=False).stdout
            drop = [r for r in rules.splitlines() if "statistic" in r]
            out.append(f"{space}: {qdisc.strip()}; {'; '.join(drop)}")
        return "\n".join(out)

    def down(self) -> None:
        for space in (self.post, self.centre):
            if Path(f"/run/netns/{space}").exists():
                _sh("ip", "netns", "del", space, check=False)  # takes its veth end, qdisc and rules
        _sh("ip", "link", "del", self.post_if, check=False)  # in case it never moved


class DelayRelay:
    """Listen on 127.0.0.1:`port` inside `netns`, forward to `target`, holding each chunk `delay` s."""

    def __init__(self, netns: str, target: tuple[str, int], delay: float, port: int = 0) -> None:
        self.netns = netns
        self.target = target
        self.delay = delay
        self._stop = threading.Event()
        self._socks: list[socket.socket] = []
        self._server = in_netns(netns, lambda: socket.create_server(("127.0.0.1", port)))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        for sock in [self._server, *self._socks]:
            abort_socket(sock)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            # Connect upstream on a thread of its own: a lost SYN must hold up this connection
            # only, not every one that arrives meanwhile.
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        enter_netns(self.netns)
        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            abort_socket(client)
            return
        upstream.settimeout(None)
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socks += [client, upstream]
        for src, dst in ((client, upstream), (upstream, client)):
            held: queue.Queue[tuple[float, bytes] | None] = queue.Queue(maxsize=64)
            threading.Thread(target=self._read, args=(src, dst, held), daemon=True).start()
            threading.Thread(target=self._release, args=(src, dst, held), daemon=True).start()

    def _read(
        self, src: socket.socket, dst: socket.socket, held: queue.Queue[tuple[float, bytes] | None]
    ) -> None:
        try:
            while data := src.recv(65536):
                held.put((time.monotonic() + self.delay, data))
        except OSError:
            pass
        held.put(None)

    @staticmethod
    def _release(
        src: socket.socket, dst: socket.socket, held: queue.Queue[tuple[float, bytes] | None]
    ) -> None:
        try:
            while (item := held.get()) is not None:
                due, data = item
                if (wait := due - time.monotonic()) > 0:
                    time.sleep(wait)
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)  # a clean end travels on, after what was held
        except OSError:
            abort_socket(src)
            abort_socket(dst)


class RelayProcess:
    """A `DelayRelay` in a process of its own at raised priority: in the test's process its
    threads would share the interpreter with the test, and a busy machine would make it hand
    on what it holds in bursts (a download that looks hundreds of times faster than the link)."""

    def __init__(self, netns: str, target: tuple[str, int], delay: float) -> None:
        code = (
            "import sys, threading; from tests.linkquality.netlink import DelayRelay; "
            f"r = DelayRelay({netns!r}, {target!r}, {delay!r}); print(r.port, flush=True); "
            "sys.stdin.read(); r.close()"
        )
        root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            [*PRIORITY, sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": path},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.proc.kill()
            raise RuntimeError(f"the relay did not start: {line!r}")
        self.port = int(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # the relay's signal to stop
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
