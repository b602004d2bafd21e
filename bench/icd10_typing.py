"""How fast «Добавьте заболевания» answers while a consultant types: МКБ-10 search per keystroke.

Every prefix of a few queries doctors type is searched, as the form asks after each key
(central.protocols.icd10.search, in-process). Prints the first-use index build time and
the median / 95th percentile / maximum per keystroke::

    .venv/bin/python bench/icd10_typing.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from central.protocols import icd10  # noqa: E402

QUERIES = ("пневмония неуточненная", "роды одноплодные", "сахарный диабет 2", "гипертоническая болезнь",
           "хобл", "перелом лучевой", "J18.9", "е11,9")
ROUNDS = 5


def keystrokes() -> list[str]:
    return [query[:n] for query in QUERIES for n in range(1, len(query) + 1) if query[:n].strip()]


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[int(len(ms) * 0.95) - 1]
    median = statistics.median(ms)
    return f"{name}: {len(ms)} keystrokes, median {median:.2f} ms, p95 {p95:.2f} ms, max {ms[-1]:.2f} ms"


def in_process() -> list[float]:
    timings = []
    for _ in range(ROUNDS):
        for typed in keystrokes():
            started = time.perf_counter()
            icd10.search(typed)
            timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    started = time.perf_counter()
    icd10.search("пневм")
    print(f"first use (read the directory, build the index): {(time.perf_counter() - started) * 1000:.0f} ms")
    print(summary("search()", in_process()))


if __name__ == "__main__":
    main()
