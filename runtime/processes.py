"""Starting faplink's processes as children and waiting until they answer (demo and tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

__all__ = ["start", "wait_http", "stop", "faplink_command"]


def faplink_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "faplink.cli", *args]


def start(args: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a child in its own process group, its output appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    return subprocess.Popen(
        args,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )


def wait_http(url: str, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until `url` answers (any status below 500); fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with code {process.returncode}")
        try:
            if requests.get(url, timeout=2, allow_redirects=False).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout:.0f} s")


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0, *, kill: bool = False) -> None:
    """SIGTERM (or SIGKILL) the child's process group and reap it."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)
