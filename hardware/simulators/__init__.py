"""Device simulators on pseudo-terminals, for tests, the benchmark and `devices simulate`."""

from __future__ import annotations

from typing import Any

from hardware.errors import UnknownProtocol
from hardware.simulators.astm import AstmSimulator
from hardware.simulators.base import PtySimulator
from hardware.simulators.bm65 import Bm65Simulator
from hardware.simulators.cms50 import Cms50LegacySimulator, Cms50V7Simulator
from hardware.simulators.mtsics import MtSicsSimulator

__all__ = [
    "SIMULATORS",
    "PtySimulator",
    "AstmSimulator",
    "Bm65Simulator",
    "Cms50LegacySimulator",
    "Cms50V7Simulator",
    "MtSicsSimulator",
    "create",
]

SIMULATORS: dict[str, type[PtySimulator]] = {
    "cms50": Cms50V7Simulator,
    "cms50-v7": Cms50V7Simulator,
    "cms50-legacy": Cms50LegacySimulator,
    "bm65": Bm65Simulator,
    "astm": AstmSimulator,
    "mtsics": MtSicsSimulator,
}


def create(protocol: str, **options: Any) -> PtySimulator:
    """A simulator for a protocol name (not started)."""
    try:
        cls = SIMULATORS[protocol]
    except KeyError:
        known = ", ".join(SIMULATORS)
        raise UnknownProtocol(f"no simulator for {protocol!r}; use one of: {known}") from None
    return cls(**options)
