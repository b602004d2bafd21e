"""Oximeter throughput: a CMS50 V7 simulator through a pty into the port reader.

The simulator runs in a child process, so that the CPU figures are the
reader's alone. Two runs: at the device's 60 packets/s, and flat out (the
simulator writes as fast as the reader takes bytes). Prints `name: value` lines.

    .venv/bin/python bench/oximeter_throughput.py --seconds 10
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import threading
import time
from multiprocessing.connection import Connection

from hardware.ports import PortReader
from hardware.readings import SPO2, DeviceEvent, Reading
from hardware.simulators import Cms50V7Simulator


def run_simulator(rate: float, control: Connection) -> None:
    """Child process: stream until told to stop, then report what was sent."""
    # Paced like the device, it drops what the host does not take; flat out it
    # waits for the host, so that throughput measures the reader.
    sim = Cms50V7Simulator(rate=rate, drop_when_full=rate > 0, seed=1)
    control.send(sim.start())
    control.recv()
    sim.stream = False
    time.sleep(0.2)  # let the last write finish
    control.send({"packets_sent": sim.packets_sent, "bytes_dropped": sim.bytes_dropped})
    control.recv()
    sim.stop()


class Counter:
    """Counts SpO2 readings (one per packet) from the reader thread."""

    def __init__(self) -> None:
        self.packets = 0
        self.first: float | None = None
        self.last = 0.0
        self._lock = threading.Lock()

    def __call__(self, event: DeviceEvent) -> None:
        if isinstance(event, Reading) and event.loinc == SPO2:
            now = time.monotonic()
            with self._lock:
                self.packets += 1
                self.last = now
                if self.first is None:
                    self.first = now


def measure(name: str, rate: float, seconds: float) -> dict[str, float]:
    context = mp.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=run_simulator, args=(rate, parent), daemon=True)
    process.start()
    path = child.recv()
    counter = Counter()
    reader = PortReader(path, counter, protocol="cms50-v7")
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before, wall_before = time.process_time(), time.monotonic()
    reader.start()
    time.sleep(seconds)
    child.send("stop")
    stopped = time.monotonic()
    cpu = time.process_time() - cpu_before
    wall = stopped - wall_before
    sent = child.recv()
    # The reader holds one packet until the next confirms it, or the line goes quiet.
    settle = time.monotonic()
    while time.monotonic() - max(counter.last, settle) < 1.0:
        time.sleep(0.05)
    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    reader.stop()
    child.send("exit")
    process.join(5)
    streamed = (stopped - counter.first) if counter.first is not None else 0.0
    rss_kb = usage_after.ru_maxrss
    return {
        f"{name}.seconds": round(seconds, 1),
        f"{name}.packets_sent": sent["packets_sent"],
        f"{name}.packets_decoded": counter.packets,
        f"{name}.packets_per_second": round(counter.packets / streamed, 1) if streamed else 0.0,
        f"{name}.readings_lost": sent["packets_sent"] - counter.packets,
        f"{name}.bytes_dropped_by_simulator": sent["bytes_dropped"],
        f"{name}.reader_cpu_seconds": round(cpu, 3),
        f"{name}.reader_cpu_percent": round(100 * cpu / wall, 2),
        f"{name}.reader_context_switches": (usage_after.ru_nvcsw + usage_after.ru_nivcsw)
        - (usage_before.ru_nvcsw + usage_before.ru_nivcsw),
        f"{name}.reader_max_rss_mb": round(rss_kb / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--rate", type=float, default=60.0, help="packets/s of the paced run")
    parser.add_argument("--no-flat-out", action="store_true", help="skip the flat-out run")
    args = parser.parse_args()
    runs = [("paced", args.rate)]
    if not args.no_flat_out:
        runs.append(("flat_out", 0.0))
    for name, rate in runs:
        for key, value in measure(name, rate, args.seconds).items():
            print(f"{key}: {value}", flush=True)


if __name__ == "__main__":
    main()
