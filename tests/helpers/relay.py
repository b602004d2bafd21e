"""A TCP relay between a post and central that can cut the link or refuse it, and counts bytes."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Counters:
    up: int = 0  # post → central
    down: int = 0  # central → post


@dataclass
class Relay:
    """Listen on 127.0.0.1:port, forward to target_port; `cut_up_after`/`cut_down_after` arm a cut."""

    target_port: int
    port: int = 0
    counters: Counters = field(default_factory=Counters)
    refuse: bool = False
    cut_up_after: int | None = None
    cut_down_after: int | None = None
    cuts: int = 0
    #: Bytes per second in each direction (None: as fast as loopback goes).
    rate: float | None = None
    #: Hold the next connection whose request starts with these bytes this long before
    #: connecting it on (as a SYN lost between a proxy and central would), once.
    stall_request: bytes | None = None
    stall_s: float = 1.0

    def __post_init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", self.port))
        self.port = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self.drop()

    def drop(self) -> None:
        """Abort every connection open now (with `refuse`, the link is down, kept-alive ones too)."""
        for conn in list(self._conns):
            abort_socket(conn)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.refuse:
                abort_socket(client)
                continue
            if self.stall_request is not None:
                threading.Thread(target=self._connect_on, args=(client,), daemon=True).start()
            else:
                self._connect_on(client)

    def _connect_on(self, client: socket.socket) -> None:
        first = b""
        if self.stall_request is not None:
            client.settimeout(5)
            try:
                first = client.recv(16384)
            except OSError:
                abort_socket(client)
                return
            client.settimeout(None)
            with self._lock:
                stall = self.stall_request is not None and first.startswith(self.stall_request)
                if stall:
                    self.stall_request = None
            if stall:
                time.sleep(self.stall_s)
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            if first:
                upstream.sendall(first)
                with self._lock:
                    self.counters.up += len(first)
        except OSError:
            abort_socket(client)
            return
        self._conns += [client, upstream]
        threading.Thread(target=self._pump, args=(client, upstream, "up"), daemon=True).start()
        threading.Thread(target=self._pump, args=(upstream, client, "down"), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str) -> None:
        try:
            while True:
                data = src.recv(16384)
                if not data:
                    break
                with self._lock:
                    budget = self.cut_up_after if direction == "up" else self.cut_down_after
                    if budget is not None and len(data) >= budget:
                        data = data[:budget]
                        if direction == "up":
                            self.cut_up_after = None
                        else:
                            self.cut_down_after = None
                        self.cuts += 1
                        cut = True
                    else:
                        if budget is not None:
                            if direction == "up":
                                self.cut_up_after = budget - len(data)
                            else:
                                self.cut_down_after = budget - len(data)
                        cut = False
                    if direction == "up":
                        self.counters.up += len(data)
                    else:
                        self.counters.down += len(data)
                if data:
                    dst.sendall(data)
                    if self.rate:
                        time.sleep(len(data) / self.rate)
                if cut:
                    break
        except OSError:
            pass
        finally:
            abort_socket(src)
            abort_socket(dst)


def abort_socket(sock: socket.socket) -> None:
    """Abort the connection: RST to the peer, and wake the thread reading the other way."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
