"""One central instance's processes under one command: N web workers and the realtime gateway.

`faplink central run --workers N` migrates the database once (the processes would
race to), then starts

- ``faplink central web``: gunicorn with N threaded worker processes on a unix
  socket of the instance's own, serving pages, the JSON API and the sync API;
- ``faplink central gateway``: the asyncio process on the instance's public address,
  holding every Socket.IO connection and passing the rest to the web workers.

The children share the supervisor's process group and die with it. SIGTERM or
SIGINT stops them both, gracefully, then for good after `STOP_TIMEOUT_S`. A child
that exits on its own takes the instance down with a non-zero status and a line in
the log saying which (gunicorn already replaces a worker that dies; a gateway or a
gunicorn master that dies is a fault to restart the whole instance from, as systemd
does with ``Restart=on-failure``).
"""

from __future__ import annotations

import ctypes
import logging
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from runtime.processes import faplink_command

__all__ = ["Instance", "run_instance", "migrate_once", "STOP_TIMEOUT_S"]

log = logging.getLogger(__name__)

#: How long the children have to stop gracefully before they are killed.
STOP_TIMEOUT_S = 20.0
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Instance:
    """What an instance's processes are started with."""

    host: str
    port: int
    workers: int
    data_dir: Path | None
    database_url: str

    def common(self) -> list[str]:
        args = ["--database-url", self.database_url]
        if self.data_dir is not None:
            args += ["--data", str(self.data_dir)]
        return args


def migrate_once(database_url: str) -> None:
    """Bring the database's schema up to date before N processes open it at once."""
    from sync.db import open_database_url
    from sync.migrations import migrate
    from sync.state import CENTRAL_MIGRATIONS

    db = open_database_url(database_url)
    try:
        ran = migrate(db, CENTRAL_MIGRATIONS)
    finally:
        db.close()
    if ran:
        log.info("database migrated: %s", ", ".join(ran))


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the supervisor dies, even by SIGKILL (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the process group still reaches them
        pass


def run_instance(instance: Instance) -> int:
    """Run the instance's web workers and gateway until told to stop; the exit status."""
    migrate_once(instance.database_url)
    runtime = Path(tempfile.mkdtemp(prefix="faplink-central-"))
    web = f"unix:{runtime / 'web.sock'}"
    commands = {
        "web workers": faplink_command(
            "central", "web", "--bind", web, "--workers", str(instance.workers), *instance.common()
        ),
        "realtime gateway": faplink_command(
            "central", "gateway", "--host", instance.host, "--port", str(instance.port), "--web", web,
            *instance.common(),
        ),
    }
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    children: dict[str, subprocess.Popen[bytes]] = {}
    status = 0
    try:
        for name, command in commands.items():
            children[name] = subprocess.Popen(command, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
            log.info("started central's %s (pid %s)", name, children[name].pid)
        while not stopping.wait(0.5):
            gone = {name: child.returncode for name, child in children.items() if child.poll() is not None}
            if gone:
                for name, code in gone.items():
                    log.error("central's %s exited with status %s: stopping the instance", name, code)
                status = 1
                break
    finally:
        _stop_all(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        shutil.rmtree(runtime, ignore_errors=True)
    return status


def _stop_all(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for name, child in children.items():
        try:
            child.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("central's %s did not stop in %.0f s: killed", name, STOP_TIMEOUT_S)
            child.kill()
            child.wait()
