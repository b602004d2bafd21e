"""The same replication, post → centre, by faplink, pouchdb-server and morango, on loopback.

Workload (the same data for every engine, made from a seed):
  - 10,000 patients of ~250 bytes of application JSON each (names, birth date,
    sex, phone, post); each engine adds its own metadata to that;
  - 20 files of 1 MiB (random bytes after `%PDF-1.4\\n`; with --file-kind ecg, 12-lead
    ECG exports as text), each on its own appeal
    (faplink) or its own document (PouchDB, as an inline attachment).
Each engine's data is created at the post first (not measured); then one
replication runs through a counting TCP relay on 127.0.0.1, which gives the
bytes on the wire (TCP payload, both directions: HTTP headers and bodies).

  faplink   central (`faplink central run`) + `faplink node sync --once`, after a
            first sync of the fresh node (~1,000 directory and slot records) that
            is not measured. Time: the round, from the node's own log
            (state idle → syncing → idle); the command's whole run is shown too.
  pouchdb   pouchdb-server (LevelDB in a temp dir) and a local PouchDB (LevelDB),
            `db.replicate.to(remote)` with PouchDB's default options.
  morango   Kolibri's sync engine: a Django peer served by `runserver`, a client
            that holds a certificate signed by the server, one push sync session.
            Morango has no blob transfer, so it is compared with a faplink run
            of the records alone (`faplink_records`); `pouchdb_records` is
            PouchDB on the same records alone.

Every engine runs --runs times (default 3); the summary gives medians. Each run
starts from fresh copies of the data, and is checked: every record and file
must be at the centre afterwards.

    .venv/bin/python bench/sync_compare.py [--runs 3] [--records 10000] [--files 20]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    BENCH,
    REPO,
    Relay,
    Workload,
    app_json,
    children_cpu_seconds,
    code_version,
    cpu_seconds,
    fmt_bytes,
    free_port,
    make_workload,
    median,
    start_process,
    stop_process,
    tcp_open,
    wait_until,
)

PY = sys.executable
MORANGO_PY = BENCH / ".venv-morango" / "bin" / "python"
MORANGO_DIR = BENCH / "morango_peer"
POUCH_SERVER = BENCH / "node_modules" / ".bin" / "pouchdb-server"
NODE = shutil.which("node") or "node"
MIB = 1024 * 1024


@dataclass
class Run:
    wall_s: float
    up: int
    down: int
    extra: dict[str, Any] = field(default_factory=dict)
    ledger: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.up + self.down


def faplink_command(*args: str) -> list[str]:
    return [PY, "-m", "faplink.cli", *args]


# -- faplink ---------------------------------------------------------------------

_STATE = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO sync\.client: sync state (\w+) -> (\w+)")


def round_seconds(log: str) -> float | None:
    """The round's duration from the node's log: idle → syncing … syncing → idle."""
    start = end = None
    for stamp, before, after in _STATE.findall(log):
        when = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")
        if after == "syncing":
            start = when
        elif before == "syncing" and start is not None:
            end = when
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


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


def faplink_template(
    root: Path,
    work_dir: Path | None,
    records: int,
    files: int,
    file_size: int,
    log: Callable[[str], None],
    file_kind: str = "pdf",
) -> tuple[Path, Workload, dict[str, Any]]:
    """Seed central and post 1, sync the fresh node once, then write the workload at the post."""
    from faplink.demo import prepare

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
    info = json.loads(written.stdout.strip().splitlines()[-1])
    info["node_id"] = identity["node_id"]
    info["organization"] = identity["organization_id"]
    info["post_dir"] = str(node_dir.relative_to(template))
    return template, work, info


def central_counts(central_dir: Path, node_id: str, shas: list[str]) -> dict[str, int]:
    with sqlite3.connect(central_dir / "central.db") as conn:
        patients = conn.execute("SELECT count(*) FROM patient WHERE origin = ?", (node_id,)).fetchone()[0]
        attachments = conn.execute("SELECT count(*) FROM attachment WHERE origin = ?", (node_id,)).fetchone()[
            0
        ]
    blobs = sum(1 for sha in shas if (central_dir / "blobs" / sha[:2] / sha).is_file())
    return {"patients": patients, "attachments": attachments, "blobs": blobs}


def run_faplink(template: Path, info: dict[str, Any], work: Workload, run_dir: Path) -> Run:
    shutil.copytree(template, run_dir)
    node_dir = run_dir / info["post_dir"]
    central_dir = run_dir / "central"
    port = free_port()
    central = start_central(central_dir, port, run_dir / "central.log")
    relay: Relay | None = None
    try:
        wait_until(
            lambda: tcp_open("127.0.0.1", port), 60, "central listened", central, run_dir / "central.log"
        )
        relay = Relay(port)
        set_central_url(node_dir, f"http://127.0.0.1:{relay.port}")
        central_cpu, node_cpu = cpu_seconds(central.pid), children_cpu_seconds()
        started = time.monotonic()
        done = subprocess.run(
            faplink_command("node", "sync", "--data", str(node_dir), "--once"),
            capture_output=True,
            text=True,
            timeout=900,
            cwd=REPO,
        )
        process_wall = time.monotonic() - started
        central_cpu = cpu_seconds(central.pid) - central_cpu
        node_cpu = children_cpu_seconds() - node_cpu
        (run_dir / "node-sync.log").write_text(done.stderr)
        if done.returncode != 0:
            raise RuntimeError(f"faplink node sync failed: {done.stderr[-3000:]}")
        report = json.loads(done.stdout.strip().splitlines()[-1])
        seconds = round_seconds(done.stderr)
        if seconds is None:
            raise RuntimeError("no round start/end in the node's log")
        up, down = relay.snapshot()
        ledger = relay.ledger_lines("    ")
        span = (relay.last_byte or 0) - (relay.first_byte or 0)
    finally:
        if relay is not None:
            relay.close()
        stop_process(central)
    shas = [f["sha256"] for f in work.files]
    counts = central_counts(central_dir, info["node_id"], shas)
    expected = {"patients": len(work.patients), "attachments": len(shas), "blobs": len(shas)}
    if counts != expected:
        raise RuntimeError(f"central holds {counts}, expected {expected}")
    extra = {
        "process_wall_s": process_wall,
        "report": report,
        "wire_span_s": span,
        "cpu_server_s": central_cpu,
        "cpu_client_s": node_cpu,
    }
    return Run(seconds, up, down, extra, ledger)


# -- pouchdb ---------------------------------------------------------------------


def run_pouchdb(work: Workload, run_dir: Path) -> Run:
    server_dir = run_dir / "server"
    server_dir.mkdir(parents=True)
    port = free_port()
    server = start_process(
        [
            str(POUCH_SERVER),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(server_dir),
            "--config",
            str(server_dir / "config.json"),
            "--no-stdout-logs",
        ],
        run_dir / "pouchdb-server.log",
        cwd=server_dir,
    )
    relay: Relay | None = None
    client: subprocess.Popen[bytes] | None = None
    try:
        wait_until(
            lambda: tcp_open("127.0.0.1", port),
            60,
            "pouchdb-server listened",
            server,
            run_dir / "pouchdb-server.log",
        )
        relay = Relay(port)
        client = start_process(
            [
                NODE,
                str(BENCH / "pouch_push.js"),
                "--workload",
                str(work.root / "workload.json"),
                "--db",
                str(run_dir / "local"),
                "--remote",
                f"http://127.0.0.1:{relay.port}/bench",
            ],
            run_dir / "pouch-client.log",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        result = _ready_go(client, relay, timeout=900, server=server)
        up, down = relay.snapshot()
        ledger = relay.ledger_lines("    ")
        span = (relay.last_byte or 0) - (relay.first_byte or 0)
        info = requests.get(f"http://127.0.0.1:{port}/bench", timeout=30).json()
    finally:
        stop_process(client)
        if relay is not None:
            relay.close()
        stop_process(server)
    expected = len(work.patients) + len(work.files)
    if info.get("doc_count") != expected or result.get("doc_write_failures"):
        raise RuntimeError(f"pouchdb-server holds {info.get('doc_count')} docs, expected {expected}")
    extra = {
        "result": result,
        "wire_span_s": span,
        "cpu_server_s": result["cpu_server_s"],
        "cpu_client_s": result["cpu_client_s"],
    }
    return Run(float(result["wall_s"]), up, down, extra, ledger)


def _ready_go(
    client: subprocess.Popen[bytes],
    relay: Relay,
    timeout: float,
    server: subprocess.Popen[bytes] | None = None,
) -> dict[str, Any]:
    """Wait for the client's READY, zero the relay's counters, let it go; its JSON result.

    The result gets `cpu_client_s` and `cpu_server_s`: CPU seconds both used meanwhile.
    """
    assert client.stdout is not None and client.stdin is not None
    deadline = time.monotonic() + timeout
    while True:
        line = client.stdout.readline().decode()
        if not line:
            raise RuntimeError(f"client exited (code {client.wait()}) before it was ready")
        if line.startswith("READY"):
            break
        if time.monotonic() > deadline:
            raise TimeoutError("client never became ready")
    relay.reset()
    cpu_client = cpu_seconds(client.pid)
    cpu_server = cpu_seconds(server.pid) if server is not None else 0.0
    client.stdin.write(b"go\n")
    client.stdin.flush()
    for line_b in client.stdout:
        line = line_b.decode().strip()
        if line.startswith("{"):
            result = dict(json.loads(line))
            result["cpu_client_s"] = cpu_seconds(client.pid) - cpu_client
            result["cpu_server_s"] = cpu_seconds(server.pid) - cpu_server if server is not None else 0.0
            return result
    raise RuntimeError(f"client exited (code {client.wait()}) without a result")


# -- morango ---------------------------------------------------------------------


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
        result = _ready_go(client, relay, timeout=1800, server=server)
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


# -- the benchmark ---------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--file-size", type=int, default=MIB)
    parser.add_argument(
        "--file-kind",
        choices=("pdf", "ecg"),
        default="pdf",
        help="pdf: random bytes after a PDF header (incompressible, the default); "
        "ecg: 12-lead ECG exports as text (compressible); summary keys then start with ecg_",
    )
    parser.add_argument(
        "--engines",
        default="faplink,pouchdb,morango",
        help="comma-separated subset of faplink,pouchdb,morango",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (logs, data)")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    def log(line: str) -> None:
        print(line, flush=True)

    root = Path(tempfile.mkdtemp(prefix="faplink-sync-compare-"))
    summary: dict[str, str] = {}
    commit, dirty = code_version()
    summary["code_commit"] = commit
    summary["code_uncommitted_changes"] = "yes" if dirty else "no"
    summary["host_load_1m_at_start"] = f"{os.getloadavg()[0]:.2f}"
    notes: list[str] = []
    results: dict[str, list[Run]] = {}
    failures: dict[str, str] = {}
    try:
        log(
            f"sync_compare: {args.records:,} records + {args.files} files of "
            f"{fmt_bytes(args.file_size)} ({args.file_kind}), {args.runs} runs per engine, "
            f"loopback through a counting relay (data in {root})"
        )
        log("preparing faplink's central and post (seed, first sync, workload at the post) …")
        try:
            full_t, work, info = faplink_template(
                root / "faplink-full",
                root / "workload",
                args.records,
                args.files,
                args.file_size,
                log,
                args.file_kind,
            )
        except Exception as exc:  # noqa: BLE001 - reported as the summary
            traceback.print_exc(file=sys.stdout)
            log("")
            log("summary:")
            print(f"compare_status: failed: preparing the data: {type(exc).__name__}: {str(exc)[:300]}")
            return 1
        rec_sizes = [len(app_json(p)) for p in work.patients]
        log(
            f"  workload: {len(work.patients):,} patients, application JSON "
            f"{sum(rec_sizes) / len(rec_sizes):.0f} B each on average "
            f"({fmt_bytes(work.record_bytes)} in all); {len(work.files)} files, "
            f"{fmt_bytes(work.blob_bytes)} in all"
        )
        log(
            f"  faplink's wire form of one patient (to_wire, JSON): {info['wire_record_bytes']} B, "
            f"of which field_stamps {info['wire_field_stamps_bytes']} B; "
            f"written at the post in {info['seconds']} s"
        )
        summary["workload_records"] = str(len(work.patients))
        summary["workload_record_app_json_bytes"] = f"{sum(rec_sizes) / len(rec_sizes):.0f}"
        summary["workload_record_faplink_wire_bytes"] = str(info["wire_record_bytes"])
        summary["workload_files"] = str(len(work.files))
        summary["workload_file_bytes"] = str(work.blob_bytes)
        summary["workload_file_kind"] = args.file_kind

        records_t = None
        if "morango" in engines:
            log("preparing a faplink post with the records alone (to compare with morango) …")
            try:
                records_t, rec_work, rec_info = faplink_template(
                    root / "faplink-records", root / "workload-records", args.records, 0, args.file_size, log
                )
            except Exception as exc:  # noqa: BLE001 - reported, the others go on
                traceback.print_exc(file=sys.stdout)
                failures["morango"] = f"preparing the records-only data failed: {type(exc).__name__}: {exc}"

        plan: list[tuple[str, Callable[[int], Run]]] = []
        if "faplink" in engines or "pouchdb" in engines:
            plan.append(("faplink", lambda i: run_faplink(full_t, info, work, root / f"run-faplink-{i}")))
        if "pouchdb" in engines:
            plan.append(("pouchdb", lambda i: run_pouchdb(work, root / f"run-pouchdb-{i}")))
        if "morango" in engines:
            why = morango_available()
            if why:
                failures["morango"] = why
            elif records_t is not None:
                plan.append(
                    (
                        "faplink_records",
                        lambda i: run_faplink(
                            records_t, rec_info, rec_work, root / f"run-faplink-records-{i}"
                        ),
                    )
                )
                plan.append(("morango", lambda i: run_morango(rec_work, root / f"run-morango-{i}")))
        if "pouchdb" in engines and records_t is not None:
            plan.append(
                ("pouchdb_records", lambda i: run_pouchdb(rec_work, root / f"run-pouchdb-records-{i}"))
            )

        for name, runner in plan:
            for i in range(args.runs):
                try:
                    run = runner(i)
                except Exception as exc:  # noqa: BLE001 - reported, the others go on
                    failures[name] = f"{type(exc).__name__}: {str(exc)[-600:]}"
                    log(f"{name} run {i + 1}: FAILED: {failures[name]}")
                    traceback.print_exc(file=sys.stdout)
                    break
                results.setdefault(name, []).append(run)
                extra = ""
                if name.startswith("faplink"):
                    extra = (
                        f", whole command {run.extra['process_wall_s']:.2f} s; node counted "
                        f"{run.extra['report']['bytes_sent']:,} B sent, "
                        f"{run.extra['report']['bytes_received']:,} B received (bodies)"
                    )
                if name == "morango":
                    r = run.extra["result"]
                    extra = (
                        f" (session {r['session_s']:.2f} s, initialize/queue "
                        f"{r['initialize_s']:.2f} s, transfer {r['transfer_s']:.2f} s, "
                        f"finalize/deserialize {r['finalize_s']:.2f} s)"
                    )
                log(
                    f"{name} run {i + 1}: {run.wall_s:.2f} s, {run.total:,} B on the wire "
                    f"(up {run.up:,}, down {run.down:,}); CPU: centre "
                    f"{run.extra['cpu_server_s']:.1f} s, post {run.extra['cpu_client_s']:.1f} s{extra}"
                )
            if results.get(name):
                runs = sorted(results[name], key=lambda r: r.wall_s)
                log(
                    f"  {name}: requests of the median run (bytes through the relay, time "
                    "from request to last response byte):"
                )
                for line in runs[len(runs) // 2].ledger:
                    log(line)

        log("")
        for name in ("faplink", "pouchdb", "faplink_records", "morango", "pouchdb_records"):
            runs = results.get(name, [])
            if not runs:
                continue
            summary[f"{name}_runs"] = str(len(runs))
            summary[f"{name}_wall_s"] = f"{median(r.wall_s for r in runs):.2f}"
            summary[f"{name}_bytes"] = f"{median(r.total for r in runs):.0f}"
            summary[f"{name}_bytes_up"] = f"{median(r.up for r in runs):.0f}"
            summary[f"{name}_bytes_down"] = f"{median(r.down for r in runs):.0f}"
            summary[f"{name}_cpu_centre_s"] = f"{median(r.extra['cpu_server_s'] for r in runs):.2f}"
            summary[f"{name}_cpu_post_s"] = f"{median(r.extra['cpu_client_s'] for r in runs):.2f}"
            if name.startswith("faplink"):
                summary[f"{name}_process_wall_s"] = f"{median(r.extra['process_wall_s'] for r in runs):.2f}"
        for name, why in failures.items():
            log(f"{name}: not measured: {why}")
            summary[f"{name}_status"] = f"not measured: {why.splitlines()[0][:200]}"

        def ratio(a: str, b: str, what: str) -> None:
            if a in results and b in results:
                key = "wall_s" if what == "wall" else "bytes"
                x, y = float(summary[f"{a}_{key}"]), float(summary[f"{b}_{key}"])
                summary[f"ratio_{what}_faplink_{b}"] = f"{x / y:.2f}" if y else "inf"

        ratio("faplink", "pouchdb", "wall")
        ratio("faplink", "pouchdb", "bytes")
        ratio("faplink_records", "morango", "wall")
        ratio("faplink_records", "morango", "bytes")
        ratio("faplink_records", "pouchdb_records", "wall")
        ratio("faplink_records", "pouchdb_records", "bytes")
        if "ratio_wall_faplink_pouchdb" in summary:
            ok_wall = float(summary["ratio_wall_faplink_pouchdb"]) <= 0.5
            ok_bytes = float(summary["ratio_bytes_faplink_pouchdb"]) <= 0.5
            summary["target_half_of_pouchdb_wall"] = "met" if ok_wall else "NOT met"
            summary["target_half_of_pouchdb_bytes"] = "met" if ok_bytes else "NOT met"
        if "morango" in engines:
            notes.append(
                "morango has no blob transfer: faplink/morango ratios compare the "
                f"{len(work.patients):,} patient records alone (faplink_records); "
                "pouchdb_records is PouchDB on the same records alone."
            )
        notes.append(
            "times: faplink = its sync round (node log), pouchdb = replicate.to(), "
            "morango = sync session create → push → close; bytes = TCP payload "
            "through the relay, both directions."
        )
        for note in notes:
            log(f"note: {note}")
        log("")
        summary["host_load_1m_at_end"] = f"{os.getloadavg()[0]:.2f}"
        log("summary:")
        prefix = "" if args.file_kind == "pdf" else f"{args.file_kind}_"
        for key, value in summary.items():
            print(f"{prefix}{key}: {value}", flush=True)
        return 0 if not failures or set(failures) == {"morango"} else 1
    finally:
        if args.keep:
            log(f"(kept {root})")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
