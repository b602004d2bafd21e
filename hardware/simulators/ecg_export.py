"""A 12-lead ECG exported as text, as an electrocardiograph writes it onto a USB stick.

Not a serial device: the file a feldsher attaches to an appeal. The benchmark and
the tests send it to show what gzip does for text files on the link.
"""

from __future__ import annotations

import math
import random

__all__ = ["LEADS", "ecg_export"]

LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def ecg_export(rng: random.Random, size: int) -> bytes:
    """`size` bytes of 12 leads at 500 Hz in microvolts, one sample row per line: a beat
    every 830 ms over a slow wander, with noise."""
    header = "t_ms;" + ";".join(LEADS) + "\n"
    out = [header]
    total = len(header)
    t = rng.randrange(1000)
    while total < size:
        beat = 1200.0 * math.exp(-(((t % 830) - 200) ** 2) / 300.0)
        values = (
            beat * (0.4 + lead / 12) + 80 * math.sin(t / 97 + lead) + rng.gauss(0, 12) for lead in range(12)
        )
        line = f"{t};" + ";".join(str(int(v)) for v in values) + "\n"
        out.append(line)
        total += len(line)
        t += 2
    return "".join(out).encode()[:size]
