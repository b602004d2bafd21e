"""Real processes for end-to-end tests: central and posts started as `faplink` commands."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import socketio

from faplink.demo import prepare
from node.datakey import DataKey, key_from_file
from runtime.processes import faplink_command, start, stop, wait_http
from tests.helpers.ports import free_port


def node_key_file(node_dir: Path | str) -> Path:
    """The test key file of a post's data (beside its directory, never in it)."""
    node_dir = Path(node_dir)
    return node_dir.parent / "keys" / f"{node_dir.name}.key"


def node_data_key(node_dir: Path | str) -> DataKey:
    """A post's data key, to open its node.db or files from a test (made if missing)."""
    return key_from_file(node_key_file(node_dir))


def node_env(node_dir: Path | str) -> dict[str, str]:
    """The environment of a `faplink node …` command on this post: its test key file."""
    return {**os.environ, "FAPLINK_DATA_KEY_FILE": str(node_key_file(node_dir))}


class Cluster:
    """A seeded central and its posts, each a separate process on its own port."""

    def __init__(
        self,
        root: Path,
        sync_interval: float = 1.0,
        central_server: str = "werkzeug",
        signer: str = "pades",
        safety_interval: float | None = None,
    ) -> None:
        """`sync_interval`: the posts' timer; `safety_interval`: their timer while linked to
        central (the same unless given: a test that waits for a row on the timer gets it)."""
        self.root = root
        self.central_server = central_server
        self.port = free_port()
        self.plan = prepare(root / "data", self.port, signer=signer)
        self.post_ports = [free_port() for _ in self.plan["posts"]]  # type: ignore[arg-type]
        self.env = {
            "FAPLINK_SYNC_INTERVAL": str(sync_interval),
            "FAPLINK_SYNC_SAFETY_INTERVAL": str(
                sync_interval if safety_interval is None else safety_interval
            ),
        }
        self.central_proc: subprocess.Popen[bytes] | None = None
        self.posts: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def central_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.post_ports[index]}"

    def start_central(self) -> None:
        central = self.plan["central"]
        self.central_proc = start(
            faplink_command(
                "central",
                "run",
                "--port",
                str(self.port),
                "--data",
                central["dir"],  # type: ignore[index]
                "--server",
                self.central_server,
            ),
            self.root / "logs" / "central.log",
        )
        wait_http(f"{self.central_url}/login", process=self.central_proc)

    def stop_central(self, kill: bool = False) -> None:
        if self.central_proc is not None:
            stop(self.central_proc, kill=kill)
            self.central_proc = None

    def route_post_through(self, index: int, port: int) -> None:
        """Point a post at another address for central (a relay that can cut the link)."""
        path = Path(self.plan["posts"][index]["dir"]) / "node.json"  # type: ignore[index]
        data = json.loads(path.read_text())
        data["central_url"] = f"http://127.0.0.1:{port}"
        path.write_text(json.dumps(data))

    def start_post(self, index: int = 0, prefix: list[str] | None = None, *, key_file: bool = True) -> None:
        """Start post `index`'s node; `prefix` wraps the command (e.g. faketime). With `key_file`
        its data key comes from a test key file; without, as on a kiosk with no TPM: made on the
        first start, then opened by a feldsher's login."""
        post = self.plan["posts"][index]  # type: ignore[index]
        env = dict(self.env)
        if key_file:
            env["FAPLINK_DATA_KEY_FILE"] = str(node_key_file(post["dir"]))
        self.posts[index] = start(
            [
                *(prefix or []),
                *faplink_command("node", "run", "--port", str(self.post_ports[index]), "--data", post["dir"]),
            ],
            self.root / "logs" / f"post{index + 1}.log",
            env=env,
        )
        wait_http(f"{self.post_url(index)}/login", process=self.posts[index])

    def add_kiosk(self, index: int = 0, prefix: list[str] | None = None) -> int:
        """Enrol a second kiosk at post `index` with a one-time token and start it; its index."""
        central_dir = self.plan["central"]["dir"]  # type: ignore[index]
        node_json = Path(self.plan["posts"][index]["dir"]) / "node.json"  # type: ignore[index]
        post_id = json.loads(node_json.read_text())["organization_id"]
        token = subprocess.run(
            faplink_command("central", "issue-token", "--data", central_dir, "--organization", post_id),
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        new_index = len(self.plan["posts"])  # type: ignore[arg-type]
        kiosk_dir = self.root / f"kiosk{new_index}"
        subprocess.run(
            faplink_command(
                "node", "enroll", "--data", str(kiosk_dir), "--central", self.central_url, "--token", token
            ),
            check=True,
            capture_output=True,
        )
        self.plan["posts"].append({"name": "kiosk", "dir": str(kiosk_dir)})  # type: ignore[attr-defined]
        self.post_ports.append(free_port())
        self.start_post(new_index, prefix)
        return new_index

    def stop_all(self) -> None:
        for proc in self.posts.values():
            stop(proc)
        self.stop_central()

    def logs(self) -> str:
        out = []
        for path in sorted((self.root / "logs").glob("*.log")):
            out.append(f"==== {path.name}\n" + path.read_text(errors="replace")[-4000:])
        return "\n".join(out)


class ApiClient:
    """A logged-in JSON API session against one app."""

    def __init__(self, base: str, login: str, password: str = "demo1234") -> None:
        self.base = base
        self.http = requests.Session()
        response = self.http.post(
            f"{base}/api/v1/session", json={"login": login, "password": password}, timeout=10
        )
        response.raise_for_status()
        self.http.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        # A kiosk whose clock is days off sends cookies that look expired to us: keep it anyway.
        cookie = response.headers.get("Set-Cookie", "")
        if cookie.startswith("session="):
            self.http.cookies.set("session", cookie.split(";", 1)[0].removeprefix("session="))

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.base + path, timeout=15, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.http.post(self.base + path, timeout=30, **kw)


def eventually(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (requests.RequestException, KeyError, ValueError) as exc:
            last = exc
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def login_works(base: str, login: str) -> bool:
    response = requests.post(
        f"{base}/api/v1/session", json={"login": login, "password": "demo1234"}, timeout=5
    )
    return response.status_code == 200


def connect_live(client: socketio.Client, base: str, http: requests.Session) -> None:
    """Connect `client` to the app's Socket.IO over WebSocket as the user `http` is logged in as."""
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    client.connect(base, headers={"Cookie": cookie}, transports=["websocket"])


PATIENT_PHONE = "+79151112233"  # Кузьмин Пётр Васильевич, post 1


def central_patient_field(cluster: Cluster, patient_id: str, field: str) -> str:
    db = Path(cluster.plan["central"]["dir"]) / "central.db"  # type: ignore[index]
    with sqlite3.connect(db) as conn:
        return str(conn.execute(f"SELECT {field} FROM patient WHERE id = ?", (patient_id,)).fetchone()[0])


def sync_round(client: ApiClient) -> None:
    before = client.get("/api/v1/sync/status").json()["rounds_completed"]
    client.post("/api/v1/sync/now")
    eventually(
        lambda: (lambda s: s["state"] == "idle" and s["rounds_completed"] > before)(
            client.get("/api/v1/sync/status").json()
        ),
        what="a completed sync round",
    )
