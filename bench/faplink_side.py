"""faplink in sync_compare: central, and one sync round inside a running node.

The template (made once, copied for every run): central seeded as the demo's, post 1
enrolled and synced once (its ~1,000 directory and slot records). A run:

  1. central (`faplink central run`) and a counting relay in front of it; the post's
     central_url points at the relay;
  2. `faplink node run` at the post, its periodic rounds an hour apart: its first
     rounds (at start, and when its live link to central comes up; nothing to send)
     warm it up and open its connections;
  3. the workload is written into the running post (bench/faplink_post.py, through
     the node's own app factory), as a feldsher's day of work would be;
  4. a feldsher logs in to the node's JSON API and presses «Синхронизировать сейчас»
     (POST /api/v1/sync/now); the round that follows is the one measured: its time
     from the node's log (sync state → syncing … → idle), its bytes from the relay's
     ledger (the /sync/v1/ requests), CPU of both processes meanwhile.

The node's live link (Socket.IO) and its fleet report also go through the relay;
their bytes are reported apart, not counted as the round's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from benchlib import (
    BENCH,
    REPO,
    Relay,
    Workload,
    cpu_seconds,
    free_port,
    make_workload,
    start_process,
    stop_process,
    tcp_open,
    wait_until,
)
from runs import Run, split_ledger

__all__ = [
    "PY",
    "central_counts",
    "faplink_command",
    "faplink_template",
    "node_rounds",
    "round_seconds",
    "run_faplink",
    "set_central_url",
    "start_central",
]

PY = sys.executable
#: How far apart the running node's own rounds are: none comes between the measured ones.
NODE_SYNC_INTERVAL_S = 3600


def faplink_command(*args: str) -> list[str]:
    return [PY, "-m", "faplink.cli", *args]


# -- the node's log ----------------------------------------------------------------

_STAMP = r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})"
_STATE = re.compile(_STAMP + r" INFO sync\.client: sync state (\w+) -> (\w+)")
_LINKED = re.compile(_STAMP + r" INFO node\.live\.link: linked to central")


def _when(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")


@dataclass
class NodeRound:
    started: datetime
    ended: datetime
    outcome: str  # the state the round ended in: idle, offline, error, …

    @property
    def seconds(self) -> float:
        return (self.ended - self.started).total_seconds()


def node_rounds(log: str) -> list[NodeRound]:
    """The rounds a node's log tells of, in order: state → syncing … syncing → outcome."""
    rounds: list[NodeRound] = []
    start: datetime | None = None
    for stamp, before, after in _STATE.findall(log):
        when = _when(stamp)
        if after == "syncing":
            start = when
        elif before == "syncing" and start is not None:
            rounds.append(NodeRound(start, when, after))
            start = None
    return rounds


def settled(log: str) -> bool:
    """Whether a running node has caught up: its live link is up (which asks for a round), a
    round that began after that has ended, and none is running."""
    linked = _LINKED.findall(log)
    states = _STATE.findall(log)
    if not linked or not states or states[-1][2] == "syncing":
        return False
    since = _when(linked[-1])
    return any(r.started >= since for r in node_rounds(log))


def round_seconds(log: str) -> float | None:
    """The last round's duration from the node's log: idle → syncing … syncing → idle."""
    rounds = node_rounds(log)
    return rounds[-1].seconds if rounds else None


# -- central and the template --------------------------------------------------------


def set_central_url(node_dir: Path, url: str) -> None:
    path = node_dir / "node.json"
    data = json.loads(path.read_text())
    data["central_url"] = url
    path.write_text(json.dumps(data, indent=2))


def start_central(
    data_dir: Path, port: int, log: Path, host: str = "127.0.0.1", prefix: list[str] | None = None
) -> subprocess.Popen[bytes]:
    return start_process(
        [
            *(prefix or []),
            *faplink_command("central", "run", "--host", host, "--port", str(port), "--data", str(data_dir)),
        ],
        log,
        cwd=REPO,
    )


def _use_data_key_file(root: Path) -> None:
    """The posts' data are encrypted at rest: one key file opens every copy of every template
    (set for this process and its children; the first template's choice stays)."""
    os.environ.setdefault("FAPLINK_DATA_KEY_FILE", str(root.parent / "post-data.key"))


def faplink_template(
    root: Path,
    work_dir: Path | None,
    records: int,
    files: int,
    file_size: int,
    log: Callable[[str], None],
    file_kind: str = "pdf",
    *,
    write_workload: bool = True,
) -> tuple[Path, Workload, dict[str, Any]]:
    """Seed central and post 1, sync the fresh node once, make the workload and (unless told
    not to) write it at the post."""
    from faplink.demo import prepare

    _use_data_key_file(root)
    template = root / "data"
    port = free_port()
    plan = prepare(template, port)
    node_dir = Path(plan["posts"][0]["dir"])  # type: ignore[index]
    # The second post plays no part: its directory goes.
    for post in plan["posts"][1:]:  # type: ignore[index]
        shutil.rmtree(post["dir"], ignore_errors=True)
    identity = json.loads((node_dir / "node.json").read_text())
    central_log = root / "logs" / "central-template.log"
    central = start_central(template / "central", port, central_log)
    try:
        wait_until(lambda: tcp_open("127.0.0.1", port), 60, "central listened", central, central_log)
        started = time.monotonic()
        first = subprocess.run(
            faplink_command("node", "sync", "--data", str(node_dir), "--once"),
            capture_output=True,
            text=True,
            timeout=300,
            cwd=REPO,
        )
        if first.returncode != 0:
            raise RuntimeError(f"first sync failed: {first.stderr[-2000:]}")
        report = json.loads(first.stdout.strip().splitlines()[-1])
        log(
            f"  first sync of the fresh node (not measured): {report['pulled']} records pulled, "
            f"{time.monotonic() - started:.1f} s"
        )
    finally:
        stop_process(central)
    work = make_workload(
        work_dir or root / "workload",
        records=records,
        files=files,
        file_size=file_size,
        organization=identity["organization_id"],
        file_kind=file_kind,
    )
    info: dict[str, Any] = write_at_post(node_dir, work) if write_workload else {}
    feldshers = [x for x in plan["logins"] if x["role"] == "фельдшер"]  # type: ignore[attr-defined]
    info["feldsher"] = {"login": feldshers[0]["login"], "password": feldshers[0]["password"]}
    info["node_id"] = identity["node_id"]
    info["organization"] = identity["organization_id"]
    info["post_dir"] = str(node_dir.relative_to(template))
    return template, work, info


def write_at_post(node_dir: Path, work: Workload) -> dict[str, Any]:
    """Write the workload into the post (the node may be running); what faplink_post.py says."""
    written = subprocess.run(
        [
            PY,
            str(BENCH / "faplink_post.py"),
            "--node",
            str(node_dir),
            "--workload",
            str(work.root / "workload.json"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
    )
    if written.returncode != 0:
        raise RuntimeError(f"writing the workload at the post failed: {written.stderr[-3000:]}")
    return dict(json.loads(written.stdout.strip().splitlines()[-1]))


def central_counts(central_dir: Path, node_id: str, shas: list[str]) -> dict[str, int]:
    with sqlite3.connect(central_dir / "central.db") as conn:
        patients = conn.execute("SELECT count(*) FROM patient WHERE origin = ?", (node_id,)).fetchone()[0]
        attachments = conn.execute("SELECT count(*) FROM attachment WHERE origin = ?", (node_id,)).fetchone()[
            0
        ]
    blobs = sum(1 for sha in shas if (central_dir / "blobs" / sha[:2] / sha).is_file())
    return {"patients": patients, "attachments": attachments, "blobs": blobs}


# -- one round inside a running node ---------------------------------------------------


def _is_round_request(label: str) -> bool:
    """The sync protocol's requests; the unsigned ping is the worker's probe, not the round's."""
    path = label.split(" ", 1)[-1]
    return path.startswith("/sync/v1/") and path != "/sync/v1/ping"


def _is_file_request(label: str) -> bool:
    return label.split(" ", 1)[-1].startswith("/sync/v1/blobs/")


class RunningNode:
    """`faplink node run` on a copy of the template, and a feldsher's session on its JSON API."""

    def __init__(self, node_dir: Path, log_path: Path) -> None:
        self.node_dir = node_dir
        self.log_path = log_path
        self.port = free_port()
        self.process = start_process(
            faplink_command("node", "run", "--port", str(self.port), "--data", str(node_dir)),
            log_path,
            env={"FAPLINK_SYNC_INTERVAL": str(NODE_SYNC_INTERVAL_S)},
            cwd=REPO,
        )
        self.session = requests.Session()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rounds(self) -> list[NodeRound]:
        return node_rounds(self.log_path.read_text(errors="replace"))

    def wait_settled(self, timeout: float) -> list[NodeRound]:
        """Wait until the node has caught up with central after its start (see `settled`)."""
        wait_until(
            lambda: settled(self.log_path.read_text(errors="replace")),
            timeout,
            "the node's live link and its catch-up round",
            self.process,
            self.log_path,
        )
        return self.rounds()

    def wait_rounds(self, count: int, timeout: float) -> list[NodeRound]:
        """Wait until the log tells of `count` finished rounds; all of them."""
        wait_until(
            lambda: len(self.rounds()) >= count,
            timeout,
            f"round {count} of the node",
            self.process,
            self.log_path,
        )
        return self.rounds()

    def log_in(self, login: str, password: str) -> None:
        answer = self.session.post(
            f"{self.url}/api/v1/session", json={"login": login, "password": password}, timeout=30
        )
        if answer.status_code != 200:
            raise RuntimeError(
                f"the feldsher's login at the node failed: {answer.status_code} {answer.text[:300]}"
            )
        self.session.headers["X-CSRF-Token"] = answer.json()["csrf_token"]

    def sync_now(self) -> None:
        """«Синхронизировать сейчас», as the kiosk's button does it."""
        answer = self.session.post(f"{self.url}/api/v1/sync/now", timeout=30)
        if answer.status_code != 202:
            raise RuntimeError(f"sync/now answered {answer.status_code}: {answer.text[:300]}")

    def stop(self) -> None:
        self.session.close()
        stop_process(self.process)


def run_faplink(template: Path, info: dict[str, Any], work: Workload, run_dir: Path) -> Run:
    """One measured round inside a running node (the module's docstring says how)."""
    shutil.copytree(template, run_dir)
    node_dir = run_dir / info["post_dir"]
    central_dir = run_dir / "central"
    port = free_port()
    central = start_central(central_dir, port, run_dir / "central.log")
    relay: Relay | None = None
    node: RunningNode | None = None
    try:
        wait_until(
            lambda: tcp_open("127.0.0.1", port), 60, "central listened", central, run_dir / "central.log"
        )
        relay = Relay(port)
        set_central_url(node_dir, f"http://127.0.0.1:{relay.port}")
        node = RunningNode(node_dir, run_dir / "node.log")
        wait_until(
            lambda: tcp_open("127.0.0.1", node.port), 120, "the node listened", node.process, node.log_path
        )
        warm = node.wait_settled(300)
        if warm[-1].outcome != "idle":
            raise RuntimeError(f"the node's catch-up round ended {warm[-1].outcome}: see {node.log_path}")
        # A login is a write (the access journal's entry), and a write starts a round at once:
        # log in before the workload is written, and let that round end first.
        node.log_in(info["feldsher"]["login"], info["feldsher"]["password"])
        warm = node.wait_rounds(len(warm) + 1, 300)
        written = write_at_post(node_dir, work)
        before = node.rounds()
        if len(before) != len(warm):
            raise RuntimeError(
                "a round ran while the workload was being written: the measured one would be cut"
            )
        relay.reset()
        central_cpu, node_cpu = cpu_seconds(central.pid), cpu_seconds(node.process.pid)
        node.sync_now()
        measured = node.wait_rounds(len(before) + 1, 900)[len(before)]
        central_cpu = cpu_seconds(central.pid) - central_cpu
        node_cpu = cpu_seconds(node.process.pid) - node_cpu
        if measured.outcome != "idle":
            raise RuntimeError(f"the measured round ended {measured.outcome}: see {node.log_path}")
        # The round's last response reached the node before it logged idle; the pumps close the
        # exchange at once, so the ledger is whole now.
        split = split_ledger(relay, _is_round_request, _is_file_request)
        ledger = relay.ledger_lines("    ")
        hellos = split.counts.get("POST /sync/v1/hello", 0)
        if hellos != 1:
            raise RuntimeError(f"{hellos} hellos went through the relay during the measured round, not 1")
    finally:
        if node is not None:
            node.stop()
        if relay is not None:
            relay.close()
        stop_process(central)
    shas = [f["sha256"] for f in work.files]
    counts = central_counts(central_dir, info["node_id"], shas)
    expected = {"patients": len(work.patients), "attachments": len(shas), "blobs": len(shas)}
    if counts != expected:
        raise RuntimeError(f"central holds {counts}, expected {expected}")
    extra = {
        "written": written,
        "other_bytes": split.other,
        "cpu_server_s": central_cpu,
        "cpu_client_s": node_cpu,
    }
    return Run(measured.seconds, split.up, split.down, extra, ledger, files_wire=split.files)
