"""The demo's cable between a post and central, which a newcomer can cut and mend.

Each demo post reaches central through a `LinkSwitch` (a TCP relay on loopback): cut, it
drops every connection and refuses new ones, as a lost 2G link would; mended, it carries
them again. `faplink demo link off|on POST` and `faplink demo stop|start central` leave a
command in the demo's control folder; the running demo carries it out within a second.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

__all__ = ["LinkSwitch", "post_command", "take_commands", "COMMANDS"]

#: What `faplink demo` understands in its control folder (one empty file per command).
COMMANDS = ("link-off", "link-on", "stop", "start")


class LinkSwitch:
    """Listen on 127.0.0.1:`port` and pass every byte to central's `target_port`, while on."""

    def __init__(self, port: int, target_port: int) -> None:
        self.target_port = target_port
        self.on = True
        self._server = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.port = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, name=f"demo-link-{port}", daemon=True).start()

    def cut(self) -> None:
        """Drop every connection at once and refuse new ones."""
        with self._lock:
            self.on = False
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _abort(sock)

    def mend(self) -> None:
        self.on = True

    def close(self) -> None:
        self.cut()
        self._server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self.on:
                _abort(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                _abort(client)  # central is stopped: the post sees no answer, as offline
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(target)
            _abort(source)
            _abort(target)


def _abort(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def post_command(control: Path, command: str, target: str) -> Path:
    """Leave `command` for `target` (central, post1, post2…) in the running demo's control folder."""
    if command not in COMMANDS:
        raise ValueError(f"unknown demo command {command!r}")
    control.mkdir(parents=True, exist_ok=True)
    path = control / f"{command}@{target}"
    path.touch()
    return path


def take_commands(control: Path) -> list[tuple[str, str]]:
    """The commands left since the last look, oldest first (each is taken once)."""
    if not control.is_dir():
        return []
    found = sorted(control.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    out = []
    for path in found:
        command, _, target = path.name.partition("@")
        path.unlink(missing_ok=True)
        if command in COMMANDS and target:
            out.append((command, target))
    return out
