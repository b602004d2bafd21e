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


def _log_tail(path: Path, lines: int = 12) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


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
    process = start(faplink_command("node", "run", "--port", str(port), "--data", str(data_dir)), log_path)
    log.info("started the node (pid %s), waiting for %s", process.pid, url)
    try:
        wait_http(f"{url}/login", timeout=wait, process=process)
    except (RuntimeError, TimeoutError) as exc:
        stop(process)
        raise NodeStartError("Не удалось запустить рабочее место", f"{exc}\n{_log_tail(log_path)}") from exc
    return StartedNode(process, log_path)
