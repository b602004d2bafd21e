"""`faplink demo` prints its URLs and logins, serves both UIs, and stops cleanly on Ctrl+C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from faplink.processes import faplink_command
from tests.conftest import free_port_block

pytestmark = pytest.mark.slow


def test_demo_starts_prints_and_stops(tmp_path: Path) -> None:
    port = free_port_block(3)  # central's port, and the next two for the posts
    proc = subprocess.Popen(
        faplink_command("demo", "--data", str(tmp_path / "demo"), "--port", str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line.rstrip())
            if line.startswith("login фельдшер: fap2"):
                break
        urls = [line.split(": ", 1)[1] for line in lines if line.startswith(("central:", "post "))]
        assert len(urls) == 3, lines
        logins = [line for line in lines if line.startswith("login ")]
        assert any("ivanova / demo1234" in line for line in logins), lines
        assert any("fap1 / demo1234" in line for line in logins), lines
        assert sum("device " in line for line in lines) == 6, lines
        for url in urls:
            page = requests.get(url + "login", timeout=10)
            assert page.status_code == 200 and "Вход в личный кабинет" in page.text
        session = requests.Session()
        answer = session.post(
            urls[1] + "api/v1/session", json={"login": "fap1", "password": "demo1234"}, timeout=10
        )
        deadline = time.monotonic() + 30
        while answer.status_code != 200 and time.monotonic() < deadline:  # the post's first sync
            time.sleep(0.5)
            answer = session.post(
                urls[1] + "api/v1/session", json={"login": "fap1", "password": "demo1234"}, timeout=10
            )
        assert answer.status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGINT) if proc.poll() is None else None
        code = proc.wait(timeout=30)
    assert code == 0
    assert "faplink demo stopped" in (proc.stdout.read() if proc.stdout else "")  # type: ignore[union-attr]
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path / "demo")], capture_output=True, text=True).stdout
    assert leftovers.strip() == "", leftovers


def test_demo_refuses_a_busy_port_with_a_clear_message(tmp_path: Path) -> None:
    """Another program on a post's port would answer for the post: the demo says so and stops."""
    port = free_port_block(3)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port + 2))
        squatter.listen()
        result = subprocess.run(
            faplink_command("demo", "--data", str(tmp_path / "demo"), "--port", str(port)),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"port {port + 2} is already in use" in result.stderr
    assert "--port" in result.stderr and "Traceback" not in result.stderr
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path / "demo")], capture_output=True, text=True).stdout
    assert leftovers.strip() == "", leftovers


def test_a_port_left_in_time_wait_by_a_stopped_demo_counts_as_free() -> None:
    """Restarting the demo right after stopping it: its old connections linger in TIME_WAIT."""
    from faplink.demo import _check_ports_free

    port = free_port_block(1)
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its end of the connection waits
        client.close()
    _check_ports_free([port])  # no DemoError
