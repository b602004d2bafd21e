"""CPU per second of a loopback call at 640×480 and at 1280×720.

The kiosk's own loopback call (node/devicecheck/loopback.py): aiortc calling
itself in a child process, VP8 video from FFmpeg's test picture at 30 frames a
second and Opus audio from a test tone, both encoded and decoded in that one
process (a real call at a kiosk does half of each: it encodes its own picture
and decodes the other side's). CPU is the child's user + system time over the
measured window (after the first picture arrived), divided by the window's
length. Each size runs `--runs` times; the summary gives medians.

    .venv/bin/python bench/call_cpu.py                    # 3 runs × 10 s per size, ~1.5 minutes
    .venv/bin/python bench/call_cpu.py --runs 1 --seconds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import code_version  # noqa: E402

from node.devicecheck.loopback import LoopbackResult, LoopbackSpec, run_loopback  # noqa: E402

SIZES = ((640, 480), (1280, 720))


def measure(width: int, height: int, seconds: float, runs: int) -> tuple[list[LoopbackResult], list[str]]:
    done, failures = [], []
    for run in range(1, runs + 1):
        result = run_loopback(LoopbackSpec(seconds=seconds, width=width, height=height))
        if result.error or result.frames_received == 0 or (result.width, result.height) != (width, height):
            got = f"{result.frames_received} frames at {result.width}×{result.height}"
            failures.append(result.error or got)
            print(f"  {width}×{height} run {run}: FAILED {failures[-1]}", flush=True)
            continue
        print(
            f"  {width}×{height} run {run}: {result.cpu_per_call_s:.3f} CPU s per call second, "
            f"{result.fps:.1f} fps, {result.frames_received}/{result.frames_sent} frames received/sent, "
            f"audio {result.audio_frames_received}/{result.audio_frames_sent}, "
            f"child CPU in all {result.cpu_s:.2f} s, {result.codec}",
            flush=True,
        )
        done.append(result)
    return done, failures


def main() -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window of each call")
    args = parser.parse_args()

    summary: dict[str, str] = {}
    commit, dirty = code_version()
    summary["code_commit"] = commit
    summary["code_uncommitted_changes"] = "yes" if dirty else "no"
    summary["host_load_1m_at_start"] = f"{os.getloadavg()[0]:.2f}"
    print(f"call_cpu: loopback calls of {args.seconds:g} s, {args.runs} runs per size, {os.cpu_count()} CPUs")
    ok = True
    per_second: dict[str, float] = {}
    for width, height in SIZES:
        name = f"call_{width}x{height}"
        results, failures = measure(width, height, args.seconds, args.runs)
        if failures:
            ok = False
            summary[f"{name}_failed_runs"] = str(len(failures))
        if not results:
            summary[f"{name}_cpu_s_per_call_s"] = "not measured"
            continue
        per_second[name] = statistics.median(r.cpu_per_call_s for r in results)
        summary[f"{name}_cpu_s_per_call_s"] = f"{per_second[name]:.3f}"
        summary[f"{name}_fps"] = f"{statistics.median(r.fps for r in results):.1f}"
        summary[f"{name}_frames_received"] = f"{statistics.median(r.frames_received for r in results):.0f}"
        summary[f"{name}_frames_sent"] = f"{statistics.median(r.frames_sent for r in results):.0f}"
        summary[f"{name}_child_cpu_s"] = f"{statistics.median(r.cpu_s for r in results):.2f}"
    if len(per_second) == 2 and per_second["call_640x480"] > 0:
        ratio = per_second["call_1280x720"] / per_second["call_640x480"]
        summary["ratio_cpu_720p_480p"] = f"{ratio:.2f}"
    summary["host_load_1m_at_end"] = f"{os.getloadavg()[0]:.2f}"
    print("summary:")
    for key, value in summary.items():
        print(f"{key}: {value}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
