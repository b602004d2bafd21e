"""One node process per data directory: `faplink node run` holds a lock file while it serves.

Two node services on one post's database would run two sync workers and two
device readers on the same serial ports; and a kiosk being decommissioned or
restored must not have its database wiped under a running service. The lock is
an advisory `flock` on ``node.lock`` in the data directory (the holder's pid
inside, for the message): the kernel drops it when the process ends, however it
ends, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

__all__ = ["LOCK_FILE", "NodeAlreadyRunning", "hold_data_dir", "running_pid"]

LOCK_FILE = "node.lock"


class NodeAlreadyRunning(RuntimeError):
    """Another node process serves this data directory."""

    def __init__(self, data_dir: Path, pid: int | None) -> None:
        # Said to the field engineer at the kiosk's console, in their language.
        super().__init__(
            f"Служба киоска уже работает с каталогом {data_dir} (процесс {pid or '?'}): "
            "остановите её (systemctl stop faplink-node faplink-kiosk) или закройте киоск"
        )
        self.pid = pid


def hold_data_dir(data_dir: Path) -> IO[str]:
    """Take the data directory's lock for this process's lifetime (keep the returned file open)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held until the process ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = _read_pid(handle)
        handle.close()
        raise NodeAlreadyRunning(data_dir, pid) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def running_pid(data_dir: Path) -> int | None:
    """The pid of the node process serving `data_dir` (0 if unknown), or None if none does."""
    path = data_dir / LOCK_FILE
    if not path.is_file():
        return None
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(handle) or 0
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _read_pid(handle: IO[str]) -> int | None:
    handle.seek(0)
    text = handle.read().strip()
    return int(text) if text.isdigit() else None
