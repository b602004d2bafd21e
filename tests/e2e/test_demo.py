"""`faplink demo` prints its URLs and logins, serves both UIs, and stops cleanly on Ctrl+C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from runtime.processes import faplink_command
from tests.helpers.ports import free_port_block


def test_demo_starts_prints_and_stops(tmp_path: Path) -> None:
    port = free_port_block(5)  # central, the two posts, and the posts' links to central
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
        _wait(
            lambda: session.post(
                urls[1] + "api/v1/session", json={"login": "fap1", "password": "demo1234"}, timeout=10
            ).status_code
            == 200,
            "the post's first sync (its feldsher's login)",
        )
    finally:
        os.killpg(proc.pid, signal.SIGINT) if proc.poll() is None else None
        code = proc.wait(timeout=30)
    assert code == 0
    assert "faplink demo stopped" in (proc.stdout.read() if proc.stdout else "")  # type: ignore[union-attr]
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path / "demo")], capture_output=True, text=True).stdout
    assert leftovers.strip() == "", leftovers


def test_demo_refuses_a_busy_port_with_a_clear_message(tmp_path: Path) -> None:
    """Another program on a post's port would answer for the post: the demo says so and stops."""
    port = free_port_block(5)
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


#: Ceilings, not costs: a `faplink` command spends a few seconds importing central before it
#: runs (ten times that on a machine whose cores are busy), and the demo seeds itself at start.
COMMAND_S = 120.0
WAIT_S = 120.0


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(faplink_command("demo", *args), capture_output=True, text=True, timeout=COMMAND_S)


def _wait(check, what: str, timeout: float = WAIT_S) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_newcomer_cuts_a_posts_link_and_stops_central_and_the_rest_goes_on(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    port = free_port_block(5)
    proc = subprocess.Popen(
        faplink_command("demo", "--data", str(data), "--port", str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    post1, post2, central = (f"http://127.0.0.1:{port + n}" for n in (1, 2, 0))
    try:
        _wait(lambda: requests.get(f"{post2}/login", timeout=2).ok, "the demo")
        feldsher = requests.Session()
        _wait(
            lambda: feldsher.post(
                f"{post1}/api/v1/session", json={"login": "fap1", "password": "demo1234"}, timeout=5
            ).ok,
            "post 1's first sync",
        )
        status = lambda: feldsher.get(f"{post1}/api/v1/sync/status", timeout=5).json()  # noqa: E731
        assert _demo("link", "off", "post1", "--data", str(data)).returncode == 0
        feldsher.post(f"{post1}/api/v1/sync/now", timeout=5)
        _wait(lambda: status()["state"] == "offline", "post 1 to notice its link is cut")
        bar = feldsher.get(f"{post1}/patients", timeout=5).text
        assert "нет связи с центром" in bar
        # Post 2 keeps its link.
        other = requests.Session()
        _wait(
            lambda: other.post(
                f"{post2}/api/v1/session", json={"login": "fap2", "password": "demo1234"}, timeout=5
            ).ok,
            "post 2's login",
        )
        assert other.get(f"{post2}/api/v1/sync/status", timeout=5).json()["state"] != "offline"

        assert _demo("link", "on", "post1", "--data", str(data)).returncode == 0
        _wait(lambda: status()["state"] == "idle", "post 1 back online")

        assert _demo("stop", "central", "--data", str(data)).returncode == 0
        _wait(lambda: not _answers(central), "central to stop")
        assert feldsher.get(f"{post1}/patients", timeout=5).ok  # the posts go on
        assert _demo("start", "central", "--data", str(data)).returncode == 0
        # The demo says so once it has seen central answer (it may see that after we do).
        _wait(lambda: _answers(central) and "central started again" in _said(data), "central to start again")
        assert proc.poll() is None
    finally:
        os.killpg(proc.pid, signal.SIGINT) if proc.poll() is None else None
        proc.wait(timeout=30)
    out = proc.stdout.read() if proc.stdout else ""  # type: ignore[union-attr]
    said = (data / "logs" / "demo.log").read_text(encoding="utf-8")
    for line in ("post1: link to central cut", "post1: link to central restored", "central stopped"):
        assert line in said, (line, said, out)
    assert "central started again" in said, (said, out)


def _said(data: Path) -> str:
    """What the demo has told the newcomer so far (logs/demo.log)."""
    log = data / "logs" / "demo.log"
    return log.read_text(encoding="utf-8") if log.is_file() else ""


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/login", timeout=2).ok
    except requests.RequestException:
        return False
