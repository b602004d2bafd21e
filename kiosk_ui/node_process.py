"""The node behind the kiosk: is it answering, and if not, start it and wait (or say why not)."""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path

import requests

from runtime.processes import faplink_command, start, stop, wait_http

__all__ = ["NodeStartError", "StartedNode", "node_answers", "ensure_node"]

log = logging.getLogger(__name__)


class NodeStartError(Exception):
    """The node could not be started: `reason` for the feldsher, `detail` for the engineer."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


@dataclass
class StartedNode:
    """A node process this kiosk started (and so stops when it closes)."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        stop(self.process)


def node_answers(url: str, timeout: float = 2.0) -> bool:
    """Whether a node answers at `url` (its login page)."""
    try:
        return requests.get(f"{url}/login", timeout=timeout, allow_redirects=False).status_code < 500
    except requests.RequestException:
        return False


def _log_tail(path: Path, lines: int = 12, since: int = 0) -> str:
    """The last `lines` lines the log got after its first `since` bytes."""
    try:
        with path.open("rb") as log_file:
            log_file.seek(since)
            text = log_file.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _node_said(tail: str) -> str:
    """The node's own one-line reason: `faplink node run` says «Error: …» and exits 1 when its
    data directory does not open (a damaged node.json, node.key or database, a full disk)."""
    said = [line.removeprefix("Error: ") for line in tail.splitlines() if line.startswith("Error: ")]
    return said[-1] if said else ""


def ensure_node(url: str, data_dir: Path, port: int, *, wait: float = 60.0) -> StartedNode | None:
    """Make sure the node answers at `url`: None if it already did, the process if we started it."""
    if node_answers(url):
        return None
    node_json = data_dir / "node.json"
    if not node_json.is_file():
        raise NodeStartError(
            "Рабочее место ещё не подключено к центру",
            f"{node_json} не найден: инженер должен зарегистрировать киоск (faplink provision enroll …)",
        )
    try:
        json.loads(node_json.read_text())
    except (OSError, ValueError) as exc:
        raise NodeStartError("Настройки рабочего места повреждены", f"{node_json}: {exc}") from exc
    log_path = data_dir / "logs" / "node.log"
    since = _size(log_path)  # the log keeps earlier runs: read only what this one said
    process = start(faplink_command("node", "run", "--port", str(port), "--data", str(data_dir)), log_path)
    log.info("started the node (pid %s), waiting for %s", process.pid, url)
    try:
        wait_http(f"{url}/login", timeout=wait, process=process)
    except (RuntimeError, TimeoutError) as exc:
        stop(process)
        tail = _log_tail(log_path, since=since)
        said = _node_said(tail)
        if said:  # the engineer's one line, and nothing else
            raise NodeStartError("Не удалось запустить рабочее место", said) from exc
        raise NodeStartError("Не удалось запустить рабочее место", f"{exc}\n{tail}") from exc
    return StartedNode(process, log_path)
