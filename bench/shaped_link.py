"""faplink and pouchdb-server over a poor link: 1 Mbit/s, 300 ms round trip, 1 % loss.

Needs root (network namespaces). The link is made here and removed on exit:
  - two network namespaces, "post" and "centre" (named faplink-bench-post and
    faplink-bench-centre), joined by a veth pair with 10.77.0.1/30 (post) and
    10.77.0.2/30 (centre); these addresses exist only inside the namespaces,
    which have no other interface but loopback and no route anywhere else;
  - rate: `tc qdisc … tbf rate 1mbit burst 1600 latency 100ms` on both veth ends
    (this kernel has no netem);
  - loss: `iptables -A INPUT -i <veth> -m statistic --mode random --probability
    0.01 -j DROP` in both namespaces (dropped on arrival, after the link, so TCP
    sees a real loss);
  - round trip: a TCP relay of ours in the post namespace (127.0.0.1 there →
    10.77.0.2) holds every chunk 150 ms before forwarding it, each way. It is a
    split connection: each request/response turn pays the 300 ms, but the TCP
    connection across the lossy veth has a short RTT, so this emulation is
    kinder to bulk transfer than a real 300 ms path would be.
Central (faplink) or pouchdb-server runs in "centre", the post's side in "post".

Workload, smaller than the loopback benchmark so that it finishes in minutes:
2,000 patients (~250 B of application JSON each) + 2 files of 1 MiB.

Prints, for both engines (medians of --runs): wall time, bytes on the wire, and
goodput = payload bytes / (wall time × 125,000 B/s), where payload is the
application JSON of the records plus the files' bytes (target ≥ 0.85); link
use = wire bytes / (wall × 125,000). For faplink also: a third 1 MiB file whose
upload is cut once in the middle (the relay aborts the connection), then a new
round resumes it; reported: the bytes sent up beyond the file's size.

    sudo .venv/bin/python bench/shaped_link.py [--runs 3] [--records 2000] [--files 2]
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    BENCH,
    REPO,
    Relay,
    Workload,
    code_version,
    fmt_bytes,
    in_netns,
    median,
    start_process,
    stop_process,
    tcp_open,
    wait_until,
)
from sync_compare import (  # noqa: E402
    NODE,
    POUCH_SERVER,
    PY,
    Run,
    _ready_go,
    central_counts,
    faplink_command,
    faplink_template,
    round_seconds,
    set_central_url,
)

POST_NS, CENTRE_NS = "faplink-bench-post", "faplink-bench-centre"
POST_IF, CENTRE_IF = "flb-post", "flb-centre"
POST_IP, CENTRE_IP = "10.77.0.1", "10.77.0.2"
LINK_BYTES_PER_S = 125_000  # 1 Mbit/s
ONE_WAY_DELAY = 0.150
LOSS = 0.01
MIB = 1024 * 1024
CENTRAL_PORT, POUCH_PORT = 8700, 5984

_children: list[subprocess.Popen[Any]] = []


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


def ns(name: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", name, *args]


# -- the link ------------------------------------------------------------------------


class Link:
    """The two namespaces, the veth pair, the shaping and the loss; undone by `down()`."""

    def __init__(self) -> None:
        self.up_done = False

    def check(self) -> str | None:
        """None if namespaces, tbf and iptables can be used here; else why not."""
        if os.geteuid() != 0:
            return "needs root (network namespaces)"
        for tool in ("ip", "tc", "iptables"):
            if shutil.which(tool) is None:
                hint = " (apt-get install -y iptables)" if tool == "iptables" else ""
                return f"no `{tool}` command{hint}"
        probe = f"faplink-bench-probe-{os.getpid()}"
        made = sh("ip", "netns", "add", probe, check=False)
        if made.returncode != 0:
            return f"`ip netns add` fails here: {made.stderr.strip()}"
        sh("ip", "netns", "del", probe, check=False)
        return None

    def up(self) -> None:
        self.down()  # leftovers of a run that was killed
        self.up_done = True
        sh("ip", "netns", "add", POST_NS)
        sh("ip", "netns", "add", CENTRE_NS)
        sh("ip", "link", "add", POST_IF, "type", "veth", "peer", "name", CENTRE_IF)
        sh("ip", "link", "set", POST_IF, "netns", POST_NS)
        sh("ip", "link", "set", CENTRE_IF, "netns", CENTRE_NS)
        for space, dev, addr in ((POST_NS, POST_IF, POST_IP), (CENTRE_NS, CENTRE_IF, CENTRE_IP)):
            sh("ip", "-n", space, "link", "set", "lo", "up")
            sh("ip", "-n", space, "addr", "add", f"{addr}/30", "dev", dev)
            sh("ip", "-n", space, "link", "set", dev, "up")
            sh(
                *ns(
                    space,
                    "tc",
                    "qdisc",
                    "add",
                    "dev",
                    dev,
                    "root",
                    "tbf",
                    "rate",
                    "1mbit",
                    "burst",
                    "1600",
                    "latency",
                    "100ms",
                )
            )
            sh(
                *ns(
                    space,
                    "iptables",
                    "-A",
                    "INPUT",
                    "-i",
                    dev,
                    "-m",
                    "statistic",
                    "--mode",
                    "random",
                    "--probability",
                    str(LOSS),
                    "-j",
                    "DROP",
                )
            )

    def down(self) -> None:
        for space, dev in ((POST_NS, POST_IF), (CENTRE_NS, CENTRE_IF)):
            if not Path(f"/run/netns/{space}").exists():
                continue
            sh(
                *ns(
                    space,
                    "iptables",
                    "-D",
                    "INPUT",
                    "-i",
                    dev,
                    "-m",
                    "statistic",
                    "--mode",
                    "random",
                    "--probability",
                    str(LOSS),
                    "-j",
                    "DROP",
                ),
                check=False,
            )
            sh(*ns(space, "tc", "qdisc", "del", "dev", dev, "root"), check=False)
            sh("ip", "netns", "del", space, check=False)  # takes the veth end with it
        sh("ip", "link", "del", POST_IF, check=False)  # in case it never moved

    def describe(self) -> list[str]:
        out = []
        for space, dev in ((POST_NS, POST_IF), (CENTRE_NS, CENTRE_IF)):
            qdisc = sh(*ns(space, "tc", "qdisc", "show", "dev", dev), check=False).stdout.strip()
            rule = [
                r
                for r in sh(*ns(space, "iptables", "-S", "INPUT"), check=False).stdout.splitlines()
                if "statistic" in r
            ]
            out.append(f"  {space}: {qdisc.splitlines()[0] if qdisc else '?'}; {'; '.join(rule)}")
        return out


def cleanup_children() -> None:
    for proc in reversed(_children):
        stop_process(proc)
    _children.clear()


def spawn(args: list[str], log: Path, **kw: Any) -> subprocess.Popen[bytes]:
    proc = start_process(args, log, **kw)
    _children.append(proc)
    return proc


def wait_in(space: str, host: str, port: int, what: str, process: subprocess.Popen[bytes], log: Path) -> None:
    wait_until(lambda: in_netns(space, lambda: tcp_open(host, port)), 90, what, process, log)


# -- faplink ---------------------------------------------------------------------


def cut_workload(root: Path, patient_id: str) -> Path:
    """One more 1 MiB file, on an appeal of an existing patient, for the cut test."""
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    data = b"%PDF-1.4\n" + os.urandom(MIB - 9)
    sha = hashlib.sha256(data).hexdigest()
    (root / "blobs" / f"{sha}.pdf").write_bytes(data)
    files = [
        {
            "id": str(uuid.uuid4()),
            "appeal": str(uuid.uuid4()),
            "patient": patient_id,
            "filename": "cut.pdf",
            "content_type": "application/pdf",
            "size": len(data),
            "sha256": sha,
        }
    ]
    path = root / "workload.json"
    path.write_text(json.dumps({"patients": [], "files": files}))
    return path


def node_sync(node_dir: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ns(POST_NS, *faplink_command("node", "sync", "--data", str(node_dir), "--once")),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def run_faplink(
    template: Path, info: dict[str, Any], work: Workload, run_dir: Path, cut: bool, log: Callable[[str], None]
) -> Run:
    shutil.copytree(template, run_dir)
    node_dir = run_dir / info["post_dir"]
    central_dir = run_dir / "central"
    central = spawn(
        ns(
            CENTRE_NS,
            *faplink_command(
                "central", "run", "--host", CENTRE_IP, "--port", str(CENTRAL_PORT), "--data", str(central_dir)
            ),
        ),
        run_dir / "central.log",
        cwd=REPO,
    )
    relay: Relay | None = None
    extra: dict[str, Any] = {}
    try:
        wait_in(
            CENTRE_NS,
            CENTRE_IP,
            CENTRAL_PORT,
            "central listened in the centre namespace",
            central,
            run_dir / "central.log",
        )
        relay = Relay(CENTRAL_PORT, target_host=CENTRE_IP, delay=ONE_WAY_DELAY, netns=POST_NS)
        set_central_url(node_dir, f"http://127.0.0.1:{relay.port}")
        started = time.monotonic()
        done = node_sync(node_dir)
        extra["process_wall_s"] = time.monotonic() - started
        (run_dir / "node-sync.log").write_text(done.stderr)
        if done.returncode != 0:
            raise RuntimeError(f"faplink node sync failed: {done.stderr[-3000:]}")
        seconds = round_seconds(done.stderr)
        if seconds is None:
            raise RuntimeError("no round start/end in the node's log")
        extra["report"] = json.loads(done.stdout.strip().splitlines()[-1])
        up, down = relay.snapshot()
        ledger = relay.ledger_lines("    ")
        shas = [f["sha256"] for f in work.files]
        counts = central_counts(central_dir, info["node_id"], shas)
        expected = {"patients": len(work.patients), "attachments": len(shas), "blobs": len(shas)}
        if counts != expected:
            raise RuntimeError(f"central holds {counts}, expected {expected}")
        if cut:
            extra["cut"] = cut_and_resume(run_dir, node_dir, central_dir, relay, work, info, log)
    finally:
        if relay is not None:
            relay.close()
        stop_process(central)
    return Run(seconds, up, down, extra, ledger)


def cut_and_resume(
    run_dir: Path,
    node_dir: Path,
    central_dir: Path,
    relay: Relay,
    work: Workload,
    info: dict[str, Any],
    log: Callable[[str], None],
) -> dict[str, Any]:
    """A new 1 MiB file; its upload cut once mid-file; the next round resumes it."""
    path = cut_workload(run_dir / "cut", work.patients[0]["id"])
    sha = json.loads(path.read_text())["files"][0]["sha256"]
    wrote = subprocess.run(
        [PY, str(BENCH / "faplink_post.py"), "--node", str(node_dir), "--workload", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if wrote.returncode != 0:
        raise RuntimeError(f"writing the cut file failed: {wrote.stderr[-2000:]}")
    relay.reset()
    # The records of this round (one appeal, one attachment) and the requests before the
    # file come to a few kB: 600,000 bytes up is a little past the middle of the file.
    relay.cut_up_after = 600_000
    first = node_sync(node_dir)
    if relay.cuts != 1:
        raise RuntimeError(f"the cut did not happen (round exit {first.returncode})")
    if first.returncode == 0:
        raise RuntimeError("the round with the cut succeeded: the cut came too late")
    staged = central_dir / "blobs" / "staging" / f"{sha}.part"
    held_after_cut = staged.stat().st_size if staged.is_file() else 0
    up_cut, _ = relay.snapshot()
    second = node_sync(node_dir)
    (run_dir / "node-sync-resume.log").write_text(second.stderr)
    if second.returncode != 0:
        raise RuntimeError(f"the resuming round failed: {second.stderr[-2000:]}")
    if not (central_dir / "blobs" / sha[:2] / sha).is_file():
        raise RuntimeError("the file is not at central after the resuming round")
    up_total, down_total = relay.snapshot()
    put = relay.ledger.get("PUT /sync/v1/blobs/{sha}/upload")
    result = {
        "file_bytes": MIB,
        "up_bytes_cut_round": up_cut,
        "central_held_after_cut": held_after_cut,
        "up_bytes_both_rounds": up_total,
        "down_bytes_both_rounds": down_total,
        "beyond_file_up": up_total - MIB,
        "beyond_file_put_requests": (put.up - MIB) if put else None,
        "put_requests": put.count if put else 0,
        "resume_seconds": round_seconds(second.stderr),
    }
    log(
        f"  cut mid-file: {up_cut:,} B up before the cut, central kept {held_after_cut:,} B of the "
        f"file; after the resuming round {up_total:,} B up in all = {result['beyond_file_up']:,} B "
        f"beyond the file's {MIB:,} B ({result['put_requests']} chunk uploads, their requests "
        f"{result['beyond_file_put_requests']:,} B beyond the file)"
    )
    return result


# -- pouchdb ---------------------------------------------------------------------


def run_pouchdb(work: Workload, run_dir: Path) -> Run:
    server_dir = run_dir / "server"
    server_dir.mkdir(parents=True)
    server = spawn(
        ns(
            CENTRE_NS,
            str(POUCH_SERVER),
            "--host",
            CENTRE_IP,
            "--port",
            str(POUCH_PORT),
            "--dir",
            str(server_dir),
            "--config",
            str(server_dir / "config.json"),
            "--no-stdout-logs",
        ),
        run_dir / "pouchdb-server.log",
        cwd=server_dir,
    )
    relay: Relay | None = None
    client: subprocess.Popen[bytes] | None = None
    try:
        wait_in(
            CENTRE_NS,
            CENTRE_IP,
            POUCH_PORT,
            "pouchdb-server listened in the centre namespace",
            server,
            run_dir / "pouchdb-server.log",
        )
        relay = Relay(POUCH_PORT, target_host=CENTRE_IP, delay=ONE_WAY_DELAY, netns=POST_NS)
        client = spawn(
            ns(
                POST_NS,
                NODE,
                str(BENCH / "pouch_push.js"),
                "--workload",
                str(work.root / "workload.json"),
                "--db",
                str(run_dir / "local"),
                "--remote",
                f"http://127.0.0.1:{relay.port}/bench",
            ),
            run_dir / "pouch-client.log",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        result = _ready_go(client, relay, timeout=1200)
        up, down = relay.snapshot()
        ledger = relay.ledger_lines("    ")
        info = in_netns(
            CENTRE_NS, lambda: requests.get(f"http://{CENTRE_IP}:{POUCH_PORT}/bench", timeout=60).json()
        )
    finally:
        stop_process(client)
        if relay is not None:
            relay.close()
        stop_process(server)
    expected = len(work.patients) + len(work.files)
    if info.get("doc_count") != expected or result.get("doc_write_failures"):
        raise RuntimeError(
            f"pouchdb-server holds {info.get('doc_count')} docs, expected {expected}; result {result}"
        )
    return Run(float(result["wall_s"]), up, down, {"result": result}, ledger)


# -- the benchmark ---------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--records", type=int, default=2_000)
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--engines", default="faplink,pouchdb")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    def log(line: str) -> None:
        print(line, flush=True)

    link = Link()
    why = link.check()
    if why:
        log(f"shaped_link: not measured: {why}")
        log("")
        log("summary:")
        print(f"shaped_status: not measured: {why}")
        return 0

    root = Path(tempfile.mkdtemp(prefix="faplink-shaped-link-"))

    def cleanup() -> None:
        cleanup_children()
        if link.up_done:
            link.down()
            link.up_done = False

    def on_signal(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    summary: dict[str, str] = {}
    commit, dirty = code_version()
    summary["code_commit"] = commit
    summary["code_uncommitted_changes"] = "yes" if dirty else "no"
    summary["host_load_1m_at_start"] = f"{os.getloadavg()[0]:.2f}"
    failures: dict[str, str] = {}
    results: dict[str, list[Run]] = {}
    try:
        log(
            f"shaped_link: {args.records:,} records + {args.files} files of 1 MiB, "
            f"{args.runs} runs per engine, over 1 Mbit/s, 300 ms RTT, 1 % loss (data in {root})"
        )
        log("preparing faplink's central and post (seed, first sync on loopback, workload) …")
        try:
            template, work, info = faplink_template(
                root / "faplink", root / "workload", args.records, args.files, MIB, log
            )
        except Exception as exc:  # noqa: BLE001 - reported as the summary
            traceback.print_exc(file=sys.stdout)
            log("")
            log("summary:")
            print(f"shaped_status: failed: preparing the data: {type(exc).__name__}: {str(exc)[:300]}")
            return 1
        payload = work.record_bytes + work.blob_bytes
        log(
            f"  payload: {fmt_bytes(work.record_bytes)} of record JSON + "
            f"{fmt_bytes(work.blob_bytes)} of files = {payload:,} B; at 125,000 B/s that is "
            f"{payload / LINK_BYTES_PER_S:.1f} s at the very least"
        )
        link.up()
        log("link up:")
        for line in link.describe():
            log(line)
        summary["shaped_link"] = "1mbit tbf, 150 ms each way (relay), 1 % loss each way"
        summary["shaped_workload_records"] = str(len(work.patients))
        summary["shaped_workload_files"] = str(len(work.files))
        summary["shaped_payload_bytes"] = str(payload)

        plan: list[tuple[str, Callable[[int], Run]]] = []
        if "faplink" in engines:
            plan.append(
                (
                    "faplink",
                    lambda i: run_faplink(
                        template, info, work, root / f"run-faplink-{i}", cut=(i == args.runs - 1), log=log
                    ),
                )
            )
        if "pouchdb" in engines:
            plan.append(("pouchdb", lambda i: run_pouchdb(work, root / f"run-pouchdb-{i}")))
        for name, runner in plan:
            for i in range(args.runs):
                try:
                    run = runner(i)
                except Exception as exc:  # noqa: BLE001 - reported, the other engine goes on
                    failures[name] = f"{type(exc).__name__}: {str(exc)[-600:]}"
                    log(f"{name} run {i + 1}: FAILED: {failures[name]}")
                    traceback.print_exc(file=sys.stdout)
                    cleanup_children()
                    break
                results.setdefault(name, []).append(run)
                good = payload / (run.wall_s * LINK_BYTES_PER_S)
                use = run.total / (run.wall_s * LINK_BYTES_PER_S)
                log(
                    f"{name} run {i + 1}: {run.wall_s:.2f} s, {run.total:,} B on the wire "
                    f"(up {run.up:,}, down {run.down:,}); goodput {good:.2f}, link use {use:.2f}"
                )
            if results.get(name):
                runs = sorted(results[name], key=lambda r: r.wall_s)
                log(
                    f"  {name}: requests of the median run (bytes through the relay, time from "
                    "request to last response byte as seen at the relay: the 150 ms hold upward "
                    "is in, the one downward is not):"
                )
                for line in runs[len(runs) // 2].ledger:
                    log(line)

        log("")
        for name in ("faplink", "pouchdb"):
            runs = results.get(name, [])
            if not runs:
                continue
            wall = median(r.wall_s for r in runs)
            total = median(r.total for r in runs)
            summary[f"shaped_{name}_runs"] = str(len(runs))
            summary[f"shaped_{name}_wall_s"] = f"{wall:.2f}"
            summary[f"shaped_{name}_bytes"] = f"{total:.0f}"
            summary[f"shaped_{name}_goodput"] = (
                f"{median(payload / (r.wall_s * LINK_BYTES_PER_S) for r in runs):.2f}"
            )
            summary[f"shaped_{name}_link_use"] = (
                f"{median(r.total / (r.wall_s * LINK_BYTES_PER_S) for r in runs):.2f}"
            )
        if "faplink" in results:
            cuts = [r.extra["cut"] for r in results["faplink"] if "cut" in r.extra]
            if cuts:
                summary["shaped_faplink_cut_file_bytes"] = str(cuts[-1]["file_bytes"])
                summary["shaped_faplink_cut_bytes_beyond_file"] = str(cuts[-1]["beyond_file_up"])
                summary["shaped_faplink_cut_central_held_after_cut"] = str(cuts[-1]["central_held_after_cut"])
            good = float(summary["shaped_faplink_goodput"])
            summary["shaped_target_goodput_0.85_faplink"] = "met" if good >= 0.85 else "NOT met"
        if "pouchdb" in results:
            good = float(summary["shaped_pouchdb_goodput"])
            summary["shaped_target_goodput_0.85_pouchdb"] = "met" if good >= 0.85 else "NOT met"
        if "faplink" in results and "pouchdb" in results:
            summary["shaped_ratio_wall_faplink_pouchdb"] = (
                f"{float(summary['shaped_faplink_wall_s']) / float(summary['shaped_pouchdb_wall_s']):.2f}"
            )
            summary["shaped_ratio_bytes_faplink_pouchdb"] = (
                f"{float(summary['shaped_faplink_bytes']) / float(summary['shaped_pouchdb_bytes']):.2f}"
            )
        for name, why_failed in failures.items():
            log(f"{name}: not measured: {why_failed}")
            summary[f"shaped_{name}_status"] = f"not measured: {why_failed.splitlines()[0][:200]}"
        log(
            "note: goodput = (record JSON + file bytes) / (wall × 125,000 B/s); link use counts "
            "every byte through the relay (HTTP headers, JSON, base64 …); TCP/IP headers come on "
            "top, so even a perfect transfer stays below 1.0 (about 0.96 of 1 Mbit/s is TCP payload)."
        )
        log("")
        summary["host_load_1m_at_end"] = f"{os.getloadavg()[0]:.2f}"
        log("summary:")
        for key, value in summary.items():
            print(f"{key}: {value}", flush=True)
        return 1 if failures else 0
    finally:
        cleanup()
        if args.keep:
            log(f"(kept {root})")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
