"""`faplink kiosk` opens a real pywebview (Qt) window: it starts the node and shows its login page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from faplink.demo import prepare
from tests.helpers.ports import free_port


def _kiosk(data_dir: Path, port: int, tmp_path: Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    env = {
        **os.environ,
        # No screen on a test machine: Qt renders off screen; the page loads all the same.
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk_ui.cli",
            "--data",
            str(data_dir),
            "--port",
            str(port),
            "--self-test",
            "60",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        cwd=tmp_path,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no report from the kiosk:\n{result.stdout}\n{result.stderr[-3000:]}"
    return result.returncode, json.loads(lines[-1])


def test_the_kiosk_starts_the_node_and_shows_the_login_page(tmp_path: Path) -> None:
    plan = prepare(tmp_path / "data", free_port())
    post_dir = Path(plan["posts"][0]["dir"])  # type: ignore[index]
    port = free_port()
    code, page = _kiosk(post_dir, port, tmp_path)
    assert code == 0, page
    assert page["url"] == f"http://127.0.0.1:{port}/login"
    assert page["heading"] == "Вход в личный кабинет"
    assert (post_dir / "logs" / "node.log").is_file()  # the kiosk started it ...
    with pytest.raises(requests.RequestException):
        requests.get(f"http://127.0.0.1:{port}/login", timeout=2)  # ... and stopped it on closing


def test_a_node_that_cannot_start_gets_a_clear_screen(tmp_path: Path) -> None:
    code, page = _kiosk(tmp_path / "not-enrolled", free_port(), tmp_path)
    assert code == 2
    assert page["title"] == "Рабочее место не запустилось"
    assert page["heading"] == "Рабочее место ещё не подключено к центру"
