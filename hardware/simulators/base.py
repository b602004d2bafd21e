"""A simulated device on the master side of a pseudo-terminal.

The slave side is an ordinary tty that a `PortReader` (or any serial program)
opens. The simulator runs in its own thread, answers what the host sends and
streams what its device would. It can misbehave on purpose: garbage between
frames, corrupted check fields, frames cut short, and unplugging (the master
is closed, which is what a reader sees when a USB adapter is pulled).

A pty ignores baud rate and parity, so the simulator reads the settings the
host put on the slave and stays mute while they differ from its device's: a
host that probes at the wrong speed hears nothing, as on a real line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import select
import termios
import threading
import time
import tty
from collections import deque
from pathlib import Path
from typing import ClassVar

from hardware.drivers.base import LineSettings

__all__ = ["PtySimulator"]

log = logging.getLogger(__name__)

_SPEEDS = {
    rate: getattr(termios, f"B{rate}") for rate in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
}


class PtySimulator:
    """Base class: subclasses implement `on_input` and `step` and call `send`."""

    protocol: ClassVar[str] = ""
    line: ClassVar[LineSettings] = LineSettings(9600)
    #: Longest sleep between two `step` calls.
    step_interval: ClassVar[float] = 0.005

    def __init__(
        self,
        *,
        link: str | os.PathLike[str] | None = None,
        garbage_rate: float = 0.0,
        bad_checksum_rate: float = 0.0,
        partial_rate: float = 0.0,
        seed: int | None = None,
        check_line: bool = True,
        drop_when_full: bool = True,
        line: LineSettings | None = None,
    ) -> None:
        self.link = Path(link) if link is not None else None
        self.garbage_rate = garbage_rate
        self.bad_checksum_rate = bad_checksum_rate
        self.partial_rate = partial_rate
        self.rng = random.Random(seed)
        self.check_line = check_line
        #: A real device does not wait for a host that stopped reading; the benchmark does.
        self.drop_when_full = drop_when_full
        if line is not None:
            self.line = line  # type: ignore[misc]
        self.master: int | None = None
        self.slave: int | None = None
        self.slave_path = ""
        self.bytes_sent = 0
        self.bytes_dropped = 0
        self.bytes_received = 0
        self.garbage_injected = 0
        self.frames_cut = 0
        self.checksums_broken = 0
        self.connections = 0
        self._io_lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._injected: deque[bytes] = deque()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The path a host should open: the stable link if there is one, else the slave."""
        return str(self.link) if self.link is not None else self.slave_path

    def start(self) -> str:
        """Open the pty, start the device thread, and return the path to open."""
        self._open_pty()
        self._thread = threading.Thread(target=self._run, name=f"sim {self.protocol}", daemon=True)
        self._thread.start()
        return self.path

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        self.disconnect()

    def __enter__(self) -> PtySimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def disconnect(self) -> None:
        """Unplug: close the pty, so that the host's next read fails."""
        with self._io_lock:
            for fd in (self.master, self.slave):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self.master = self.slave = None
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    def reconnect(self) -> str:
        """Plug back in, on a new pty (the link, if any, follows it); returns the path."""
        self.disconnect()
        self._open_pty()
        return self.path

    @property
    def connected(self) -> bool:
        return self.master is not None

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        # Raw from the start: no echo, no CR/LF translation, no XON/XOFF in the tty layer.
        tty.setraw(slave)
        os.set_blocking(master, False)
        with self._io_lock:
            self.master, self.slave = master, slave
            self.slave_path = os.ttyname(slave)
            self.connections += 1
        if self.link is not None:
            tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.slave_path)
            os.replace(tmp, self.link)
        self.reset()

    # -- hooks -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Device state after power-on; called on every (re)connection."""

    def on_input(self, data: bytes) -> None:
        """Bytes the host sent."""

    def step(self, now: float) -> None:
        """Called every few milliseconds: send whatever is due."""

    # -- output ------------------------------------------------------------------------------

    def inject(self, data: bytes) -> None:
        """Send these exact bytes next, bypassing fault injection (thread-safe)."""
        self._injected.append(bytes(data))

    def chance(self, rate: float) -> bool:
        return rate > 0 and self.rng.random() < rate

    def garbage(self) -> bytes:
        return bytes(self.rng.randrange(256) for _ in range(self.rng.randint(1, 8)))

    def send(self, frame: bytes, *, faults: bool = True) -> bool:
        """Send one frame, with garbage before it or its tail cut off as configured."""
        if faults and self.chance(self.garbage_rate):
            self.garbage_injected += 1
            self._write(self.garbage())
        if faults and len(frame) > 1 and self.chance(self.partial_rate):
            self.frames_cut += 1
            frame = frame[: self.rng.randint(1, len(frame) - 1)]
        return self._write(frame)

    def line_matches(self) -> bool:
        """Whether the host set the slave to this device's baud rate and parity."""
        if not self.check_line:
            return True
        with self._io_lock:
            if self.master is None:
                return False
            try:
                attrs = termios.tcgetattr(self.master)
            except termios.error:
                return False
        speed = _SPEEDS.get(self.line.baudrate)
        # The pty driver forces CS8 and clears PARENB, but keeps PARODD.
        odd = bool(attrs[2] & termios.PARODD)
        return attrs[4] == speed and attrs[5] == speed and odd == (self.line.parity == "O")

    def _write(self, data: bytes) -> bool:
        if not self.line_matches():
            self.bytes_dropped += len(data)
            return False
        view = memoryview(data)
        while view:
            with self._io_lock:
                master = self.master
                if master is None:
                    self.bytes_dropped += len(view)
                    return False
                try:
                    n = os.write(master, view)
                except BlockingIOError:
                    n = 0
                except OSError:
                    self.bytes_dropped += len(view)
                    return False
            self.bytes_sent += n
            view = view[n:]
            if view:
                if self.drop_when_full or self._stop.is_set():
                    self.bytes_dropped += len(view)
                    return False
                with contextlib.suppress(OSError, ValueError):
                    select.select([], [master], [], 0.05)
        return True

    # -- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            master = self.master
            if master is None:
                time.sleep(self.step_interval)
                continue
            try:
                ready, _, _ = select.select([master], [], [], self.step_interval)
            except (OSError, ValueError):
                continue  # closed under us by disconnect()
            if ready:
                self._read(master)
            while self._injected:
                self._write(self._injected.popleft())
            try:
                self.step(time.monotonic())
            except Exception:
                log.exception("%s simulator step failed", self.protocol)

    def _read(self, master: int) -> None:
        with self._io_lock:
            if master != self.master:
                return
            try:
                data = os.read(master, 4096)
            except (BlockingIOError, OSError):
                return
        self.bytes_received += len(data)
        # A host at the wrong speed would deliver only framing errors.
        if data and self.line_matches():
            self.on_input(data)
