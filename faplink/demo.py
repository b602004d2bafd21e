"""`faplink demo`: central and two posts (and simulated devices) on embedded SQLite."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from types import FrameType

from node.identity import NodeIdentity
from runtime.processes import faplink_command, start, stop, wait_http
from sync.db import CENTRAL, bind_replica, open_database
from sync.migrations import migrate
from sync.request_signing import NodeKey
from sync.server import register_node
from sync.state import CENTRAL_MIGRATIONS

from .demo_link import LinkSwitch, take_commands
from .demo_seed import DEMO_PASSWORD, DemoData, DemoLogin, seed

__all__ = ["DemoError", "prepare", "run_demo"]


class DemoError(Exception):
    """The demo cannot start; the message says why and what to do."""


def _check_ports_free(ports: list[int]) -> None:
    """Refuse to start over a port another program holds (its server would answer for ours)."""
    busy = []
    for port in ports:
        with socket.socket() as sock:
            # As our servers bind: a stopped demo's connections in TIME_WAIT leave the port free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                busy.append(port)
    if busy:
        raise DemoError(
            f"port {', '.join(map(str, busy))} is already in use; "
            f"the demo needs {ports[0]}–{ports[-1]}: choose another with --port"
        )


def _sign_with_gost(central_dir: Path, data: DemoData) -> None:
    """The centre signs GOST R 34.10-2012: its choice, its GOST test CA published to the
    posts beside the RSA one, and a GOST key for every consultant under the demo password."""
    from central.protocols import signer_settings
    from central.signing import CentreCA
    from central.signing.gost import GostCA, GostSignerStore
    from domain.models import Organization, Staff
    from protocol_signatures.openssl import NO_GOST, gost_available

    if not gost_available():
        raise DemoError(f"--signer gost: {NO_GOST}")
    signer_settings.ensure_tables()
    signer_settings.SignerSettings.create(centre_id=data.centre_id, kind=signer_settings.GOST)
    centre = Organization.get_by_id(data.centre_id)
    rsa = CentreCA.open(central_dir / "ca", centre.name)
    gost = GostCA.open(central_dir / "ca-gost", centre.name)
    centre.ca_certificate = rsa.certificate_pem.decode() + gost.certificate_pem.decode()
    centre.save()
    keys = GostSignerStore(central_dir / "signers-gost", gost)
    for staff_id in data.consultants.values():
        staff = Staff.get_by_id(staff_id)
        keys.create(staff.id, staff.full_name, centre.name, DEMO_PASSWORD)


def prepare(data_dir: Path, port: int, *, fresh: bool = True, signer: str = "pades") -> dict[str, object]:
    """Seed central, create both posts' identities and register them; returns the plan."""
    plan_path = data_dir / "demo.json"
    if not fresh and plan_path.is_file():
        return json.loads(plan_path.read_text())
    if data_dir.exists():
        shutil.rmtree(data_dir)
    central_dir = data_dir / "central"
    db = open_database(central_dir / "central.db")
    migrate(db, CENTRAL_MIGRATIONS)
    bind_replica(CENTRAL)
    data = seed()
    if signer == "gost":
        _sign_with_gost(central_dir, data)
    central_url = f"http://127.0.0.1:{port}"
    posts = []
    for index, (post_id, post_name) in enumerate(data.posts, start=1):
        node_dir = data_dir / f"post{index}"
        key = NodeKey.generate()
        identity = NodeIdentity(f"demo-post-{index}", post_id, central_url, node_dir)
        key.save(identity.key_path)
        identity.save()
        register_node(identity.node_id, post_id, key.public_hex)
        posts.append({"name": post_name, "dir": str(node_dir), "port": port + index})
    db.close()
    plan: dict[str, object] = {
        "central": {"dir": str(central_dir), "port": port, "url": central_url},
        "posts": posts,
        "logins": [asdict(login) for login in data.logins],
    }
    plan_path.write_text(json.dumps(plan, ensure_ascii=False, indent=2))
    return plan


#: The simulated devices each post gets: protocol, label.
DEMO_DEVICES = [
    ("cms50", "Пульсоксиметр Contec CMS50D+"),
    ("bm65", "Тонометр Beurer BM65"),
    ("mtsics", "Весы Mettler-Toledo"),
]


def _start_devices(
    post_dir: Path, logs: Path, children: list[subprocess.Popen[bytes]]
) -> list[dict[str, str]]:
    """Simulated serial devices on pseudo-terminals, behind stable links in the post's dir."""
    ports = []
    for protocol, label in DEMO_DEVICES:
        link = post_dir / "devices" / protocol
        link.parent.mkdir(parents=True, exist_ok=True)
        children.append(
            start(
                faplink_command("devices", "simulate", protocol, "--link", str(link)),
                logs / f"{post_dir.name}-{protocol}.log",
            )
        )
        ports.append({"port": str(link), "protocol": protocol, "label": label})
    deadline = time.monotonic() + 10
    while not all(Path(p["port"]).exists() for p in ports) and time.monotonic() < deadline:
        time.sleep(0.1)
    return ports


def run_demo(data_dir: Path, port: int, *, keep: bool = False, signer: str = "pades") -> int:
    plan = prepare(data_dir, port, fresh=not keep, signer=signer)
    central_port = int(plan["central"]["port"])  # type: ignore[index]
    posts = plan["posts"]
    assert isinstance(posts, list)
    # central, the posts, then each post's cable to central (a switch a newcomer can cut)
    link_ports = [central_port + 1 + len(posts) + index for index in range(len(posts))]
    _check_ports_free([central_port + index for index in range(1 + 2 * len(posts))])
    logs = data_dir / "logs"
    control = data_dir / "control"
    take_commands(control)  # what an earlier demo left undone does not apply to this one
    links = {}
    for post, link_port in zip(posts, link_ports, strict=True):
        name = Path(post["dir"]).name
        links[name] = LinkSwitch(link_port, central_port)
        _route_through(Path(post["dir"]), link_port)
    children: dict[str, subprocess.Popen[bytes]] = {}
    devices: list[subprocess.Popen[bytes]] = []

    def shutdown(signum: int = 0, frame: FrameType | None = None) -> None:
        for child in [*reversed(children.values()), *devices]:
            stop(child)
        for link in links.values():
            link.close()
        print("faplink demo stopped", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    try:
        urls = _start_all(plan, logs, children, devices)
    except (RuntimeError, TimeoutError) as exc:
        for child in [*reversed(children.values()), *devices]:
            stop(child)
        raise DemoError(f"{exc}; see the logs in {logs}") from exc
    print("faplink demo is running; Ctrl+C stops it. Logs:", logs, flush=True)
    for line in urls:
        print(line, flush=True)
    for raw in plan["logins"]:  # type: ignore[attr-defined]
        login = DemoLogin(**raw)
        print(f"login {login.role}: {login.login} / {login.password}  ({login.who})", flush=True)
    print(
        f"offline work: faplink demo link off post1 --data {data_dir} (and on); "
        f"faplink demo stop|start central --data {data_dir}",
        flush=True,
    )
    reported: set[str] = set()
    while True:
        for command, target in take_commands(control):
            _carry_out(command, target, plan, logs, children, links)
            reported.discard(target)
        for name, child in children.items():
            if child.poll() is not None and name not in reported:
                reported.add(name)
                _say(
                    logs,
                    f"{name} stopped (code {child.returncode}); the others go on. "
                    f"Start it again: faplink demo start {name} --data {data_dir}",
                )
        time.sleep(0.5)


def _say(logs: Path, line: str) -> None:
    """Tell the newcomer, and keep it in logs/demo.log (what the demo did, in order)."""
    print(line, flush=True)
    with (logs / "demo.log").open("a", encoding="utf-8") as log:
        log.write(line + "\n")


def _route_through(post_dir: Path, link_port: int) -> None:
    """Point the post at its cable to central instead of central itself."""
    path = post_dir / "node.json"
    identity = json.loads(path.read_text())
    identity["central_url"] = f"http://127.0.0.1:{link_port}"
    path.write_text(json.dumps(identity, ensure_ascii=False, indent=2))


def _carry_out(
    command: str,
    target: str,
    plan: dict[str, object],
    logs: Path,
    children: dict[str, subprocess.Popen[bytes]],
    links: dict[str, LinkSwitch],
) -> None:
    """One command left by `faplink demo link|stop|start`."""
    if command in ("link-off", "link-on"):
        link = links.get(target)
        if link is None:
            _say(logs, f"no post {target} in this demo")
        elif command == "link-off":
            link.cut()
            _say(logs, f"{target}: link to central cut (the post works offline)")
        else:
            link.mend()
            _say(logs, f"{target}: link to central restored")
        return
    child = children.get(target)
    if child is None:
        _say(logs, f"no process {target} in this demo")
    elif command == "stop" and child.poll() is None:
        stop(child)
        _say(logs, f"{target} stopped; the others go on")
    elif command == "start" and child.poll() is not None:
        children[target] = _start_one(target, plan, logs)
        _say(logs, f"{target} started again")
    else:
        _say(logs, f"{target} is already {'running' if command == 'start' else 'stopped'}")


def _start_one(
    name: str, plan: dict[str, object], logs: Path, ports: list[dict[str, str]] | None = None
) -> subprocess.Popen[bytes]:
    """Start central or one post's node (its devices are started once, by `_start_all`)."""
    central = plan["central"]
    assert isinstance(central, dict)
    if name == "central":
        proc = start(
            faplink_command("central", "run", "--port", str(central["port"]), "--data", central["dir"]),
            logs / "central.log",
        )
        wait_http(f"{central['url']}/login", process=proc)
        return proc
    post = next(p for p in plan["posts"] if Path(p["dir"]).name == name)  # type: ignore[attr-defined]
    devices_file = Path(post["dir"]) / "demo-devices.json"
    if ports is not None:
        devices_file.write_text(json.dumps(ports, ensure_ascii=False))
    env = {"FAPLINK_DEVICE_PORTS": devices_file.read_text() if devices_file.is_file() else "[]"}
    proc = start(
        faplink_command("node", "run", "--port", str(post["port"]), "--data", post["dir"]),
        logs / f"{name}.log",
        env=env,
    )
    wait_http(f"http://127.0.0.1:{post['port']}/login", process=proc)
    return proc


def _start_all(
    plan: dict[str, object],
    logs: Path,
    children: dict[str, subprocess.Popen[bytes]],
    devices: list[subprocess.Popen[bytes]],
) -> list[str]:
    """Start central, then each post with its devices; returns the lines to print."""
    central = plan["central"]
    assert isinstance(central, dict)
    children["central"] = _start_one("central", plan, logs)
    urls = [f"central: {central['url']}/"]
    for post in plan["posts"]:  # type: ignore[attr-defined]
        name = Path(post["dir"]).name
        ports = _start_devices(Path(post["dir"]), logs, devices)
        children[name] = _start_one(name, plan, logs, ports)
        urls.append(f"post {post['name']}: http://127.0.0.1:{post['port']}/")
        urls.extend(f"  device {p['label']}: {p['port']} ({p['protocol']})" for p in ports)
    return urls
