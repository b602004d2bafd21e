"""Cameras (V4L2) and sound cards (ALSA) present at the kiosk, read from /sys, /proc and the ALSA tools.

Nothing here opens a device: listing must be instant and harmless while a call
is using the camera. The supported picture sizes come from `v4l2-ctl
--list-formats-ext` when v4l2-utils is installed; without it a camera is
listed by name only.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Camera",
    "SoundDevice",
    "cameras",
    "sound_cards",
    "capture_devices",
    "playback_devices",
    "parse_v4l2_formats",
    "parse_alsa_list",
    "parse_asound_cards",
]

V4L2_ROOT = Path("/sys/class/video4linux")
ASOUND_CARDS = Path("/proc/asound/cards")


@dataclass
class Camera:
    device: str  # /dev/video0
    name: str
    #: (width, height, best frames per second) the camera offers; empty when unknown.
    sizes: list[tuple[int, int, float]] = field(default_factory=list)

    def best(self) -> tuple[int, int, float] | None:
        return max(self.sizes, key=lambda s: (s[0] * s[1], s[2])) if self.sizes else None

    def offers(self, width: int, height: int, fps: float) -> bool | None:
        """Whether some size is at least width×height at fps; None when the sizes are unknown."""
        if not self.sizes:
            return None
        return any(w >= width and h >= height and f >= fps for w, h, f in self.sizes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SoundDevice:
    card: int
    device: int
    name: str

    @property
    def alsa(self) -> str:
        """The ALSA name FFmpeg opens."""
        return f"hw:{self.card},{self.device}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "alsa": self.alsa}


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _run(*command: str) -> str:
    if shutil.which(command[0]) is None:
        return ""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


_SIZE = re.compile(r"Size: Discrete (\d+)x(\d+)")
_FPS = re.compile(r"\(([\d.]+) fps\)")


def parse_v4l2_formats(text: str) -> list[tuple[int, int, float]]:
    """Sizes with their best frame rate from `v4l2-ctl --list-formats-ext`, largest first."""
    best: dict[tuple[int, int], float] = {}
    size: tuple[int, int] | None = None
    for line in text.splitlines():
        if match := _SIZE.search(line):
            size = (int(match[1]), int(match[2]))
            best.setdefault(size, 0.0)
        elif size is not None and (match := _FPS.search(line)):
            best[size] = max(best[size], float(match[1]))
    return sorted(((w, h, f) for (w, h), f in best.items()), key=lambda s: (-s[0] * s[1], -s[2]))


def cameras(root: Path = V4L2_ROOT) -> list[Camera]:
    """Video capture devices, one per camera (a camera's metadata nodes are left out)."""
    found = []
    for node in sorted(root.glob("video*"), key=lambda p: int(p.name[5:]) if p.name[5:].isdigit() else 0):
        # A UVC camera registers a second node for metadata; its index is 1 or more.
        if _read(node / "index") not in ("", "0"):
            continue
        device = f"/dev/{node.name}"
        name = _read(node / "name") or node.name
        sizes = parse_v4l2_formats(_run("v4l2-ctl", "--device", device, "--list-formats-ext"))
        found.append(Camera(device, name, sizes))
    return found


_CARD = re.compile(r"^\s*(\d+)\s+\[[^\]]*\]:\s*(.*?)\s*$")


def parse_asound_cards(text: str) -> list[tuple[int, str]]:
    """(number, description) of each card in /proc/asound/cards."""
    return [(int(m[1]), m[2]) for line in text.splitlines() if (m := _CARD.match(line))]


_ALSA = re.compile(r"^card (\d+): [^\[]*\[([^\]]*)\], device (\d+): [^\[]*\[([^\]]*)\]")


def parse_alsa_list(text: str) -> list[SoundDevice]:
    """Devices listed by `arecord -l` or `aplay -l`."""
    found = []
    for line in text.splitlines():
        if match := _ALSA.match(line):
            card, card_name, device, device_name = match.groups()
            found.append(SoundDevice(int(card), int(device), f"{card_name}: {device_name}"))
    return found


def sound_cards(path: Path = ASOUND_CARDS) -> list[tuple[int, str]]:
    return parse_asound_cards(_read(path))


def _alsa_devices(tool: str, kind: str) -> list[SoundDevice]:
    listed = parse_alsa_list(_run(tool, "-l"))
    if listed or shutil.which(tool):
        return listed
    # Without alsa-utils: every card, from /proc/asound/pcm (entries say "capture 1" / "playback 1").
    found = []
    for line in _read(Path("/proc/asound/pcm")).splitlines():
        head, _, rest = line.partition(":")
        if kind in rest and "-" in head:
            card, device = head.split("-", 1)
            name = rest.split(":")[0].strip()
            found.append(SoundDevice(int(card), int(device), name))
    return found


def capture_devices() -> list[SoundDevice]:
    """Microphones (ALSA capture devices)."""
    return _alsa_devices("arecord", "capture")


def playback_devices() -> list[SoundDevice]:
    """Speakers and headphones (ALSA playback devices)."""
    return _alsa_devices("aplay", "playback")
