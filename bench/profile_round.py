"""Where one whole sync round spends its time, at the post and at the centre, on loopback.

Builds the loopback benchmark's data (seed, first sync, --records patients and
--files files at the post), starts central under cProfile (`python -m cProfile`),
runs one round of the post's SyncClient in this process under cProfile, stops
central with SIGINT (so that its profile is written), and prints the round's
time and the functions that take the most time on each side.

cProfile sees only central's main thread, not the threads that serve requests:
with --py-spy PATH (the py-spy binary, `pip install py-spy` anywhere), central
runs under `py-spy record` instead, which samples every thread; the functions
are then ranked by samples (own, and with what they call).

    .venv/bin/python bench/profile_round.py [--records 10000] [--files 20] [--top 25] [--py-spy PATH]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import REPO, free_port, tcp_open, wait_until  # noqa: E402
from sync_compare import PY, faplink_template, set_central_url  # noqa: E402


def print_stats(title: str, stats: pstats.Stats, top: int) -> None:
    print(f"\n=== {title} ===")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        stats.stream = out  # type: ignore[attr-defined]
        stats.sort_stats(order).print_stats(top)
        print(out.getvalue())


def print_samples(raw: Path, top: int) -> None:
    """Rank functions by py-spy samples, own and inclusive, from its collapsed stacks."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    if not raw.is_file():
        print("(py-spy wrote no samples)")
        return
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if any(("select" in f and "serving.py" in f) or "poll" in f for f in frames[-2:]):
            continue  # threads waiting for work
        total += count
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
    print(f"\n=== centre (py-spy, every thread, {total} busy samples) ===")
    for title, table in (("inclusive", inclusive), ("own", own)):
        print(f"-- {title}")
        for frame, count in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            print(f"{count:7d} {100 * count / max(total, 1):5.1f}%  {frame}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--py-spy", dest="py_spy", help="sample central with this py-spy binary")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="faplink-profile-round-"))
    try:
        template, _work, info = faplink_template(
            root / "t", root / "workload", args.records, args.files, 1024 * 1024, print
        )
        node_dir = template / info["post_dir"]
        port = free_port()
        central_prof = root / "central.prof"
        central_raw = root / "central-py-spy.txt"
        log_path = root / "central.log"
        serve = ["-m", "faplink.cli", "central", "run"]
        serve += ["--host", "127.0.0.1", "--port", str(port), "--data", str(template / "central")]
        if args.py_spy:
            command = [args.py_spy, "record", "--format", "raw", "--rate", "500", "--threads"]
            command += ["--nonblocking", "-o", str(central_raw), "--", PY, *serve]
        else:
            command = [PY, "-m", "cProfile", "-o", str(central_prof), *serve]
        with log_path.open("wb") as log:
            central = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        try:
            wait_until(lambda: tcp_open("127.0.0.1", port), 60, "central listened", central, log_path)
            set_central_url(node_dir, f"http://127.0.0.1:{port}")
            from node import create_app

            app = create_app({"DATA_DIR": node_dir, "SYNC_ENABLED": False})
            client = app.extensions["sync_client"]
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            report = client.run_round()
            profiler.disable()
            print(
                f"round: {time.perf_counter() - started:.2f} s under cProfile; {json.dumps(report.__dict__)}"
            )
        finally:
            central.send_signal(signal.SIGINT)
            try:
                central.wait(30)
            except subprocess.TimeoutExpired:
                central.kill()
        print_stats("post (SyncClient.run_round)", pstats.Stats(profiler), args.top)
        if args.py_spy:
            print_samples(central_raw, args.top)
        elif central_prof.is_file():
            print_stats(
                "centre (whole process, start-up included)", pstats.Stats(str(central_prof)), args.top
            )
        else:
            print("(central wrote no profile)")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
