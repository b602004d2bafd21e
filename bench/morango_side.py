"""morango (Kolibri's sync engine) in sync_compare: a Django peer, one push sync session.

The peer in bench/morango_peer/ (one SyncableModel per record type, a `PeerUser`
allowed to sign certificate requests) is served by `manage.py runserver`; the
client obtains a certificate signed by the server, runs one empty push, writes the
records, then one measured push sync session (create → initialize → transfer →
finalize → close). Morango has no blob transfer: it gets the records alone.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from benchlib import (
    BENCH,
    REPO,
    Relay,
    Workload,
    free_port,
    start_process,
    stop_process,
    tcp_open,
    wait_until,
)
from runs import Run, ready_go

__all__ = ["morango_available", "run_morango"]

MORANGO_PY = BENCH / ".venv-morango" / "bin" / "python"
MORANGO_DIR = BENCH / "morango_peer"


def morango_available() -> str | None:
    """None if morango can run here, else why not."""
    if not MORANGO_PY.is_file():
        return (
            f"no {MORANGO_PY.relative_to(REPO)} (install: python3 -m venv bench/.venv-morango "
            "&& bench/.venv-morango/bin/pip install -r bench/requirements-morango.txt)"
        )
    probe = subprocess.run(
        [str(MORANGO_PY), "-c", "import morango, django; print(django.__version__)"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"morango does not import: {probe.stderr.strip().splitlines()[-1:]}"
    return None


def run_morango(work: Workload, run_dir: Path) -> Run:
    run_dir.mkdir(parents=True)
    server_env = {"MORANGO_BENCH_DB": str(run_dir / "server.db"), "MORANGO_SYSTEM_ID": "bench-server"}
    client_env = {"MORANGO_BENCH_DB": str(run_dir / "client.db"), "MORANGO_SYSTEM_ID": "bench-client"}
    setup = subprocess.run(
        [str(MORANGO_PY), "peer.py", "server-setup"],
        cwd=MORANGO_DIR,
        env={**os.environ, **server_env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if setup.returncode != 0:
        raise RuntimeError(f"morango server setup failed: {setup.stderr[-2000:]}")
    dataset = json.loads(setup.stdout.strip().splitlines()[-1])["dataset"]
    port = free_port()
    server = start_process(
        [str(MORANGO_PY), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        run_dir / "morango-server.log",
        env=server_env,
        cwd=MORANGO_DIR,
    )
    relay: Relay | None = None
    client: subprocess.Popen[bytes] | None = None
    try:
        wait_until(
            lambda: tcp_open("127.0.0.1", port),
            60,
            "the morango server listened",
            server,
            run_dir / "morango-server.log",
        )
        relay = Relay(port)
        client = start_process(
            [
                str(MORANGO_PY),
                "peer.py",
                "push",
                "--server",
                f"http://127.0.0.1:{relay.port}/",
                "--dataset",
                dataset,
                "--workload",
                str(work.root / "workload.json"),
            ],
            run_dir / "morango-client.log",
            env=client_env,
            cwd=MORANGO_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        result = ready_go(client, relay, timeout=1800, server=server)
        up, down = relay.snapshot()
        ledger = relay.ledger_lines("    ")
        span = (relay.last_byte or 0) - (relay.first_byte or 0)
    finally:
        stop_process(client)
        if relay is not None:
            relay.close()
        stop_process(server)
    count = subprocess.run(
        [str(MORANGO_PY), "peer.py", "count"],
        cwd=MORANGO_DIR,
        env={**os.environ, **server_env},
        capture_output=True,
        text=True,
    )
    counts = json.loads(count.stdout.strip().splitlines()[-1])
    if counts["patients"] != len(work.patients):
        raise RuntimeError(f"the morango server holds {counts}, expected {len(work.patients)} patients")
    extra = {
        "result": result,
        "wire_span_s": span,
        "cpu_server_s": result["cpu_server_s"],
        "cpu_client_s": result["cpu_client_s"],
    }
    return Run(float(result["wall_s"]), up, down, extra, ledger)
