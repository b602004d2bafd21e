"""Device drivers, one module per protocol, and the registry the port reader picks from."""

from __future__ import annotations

from hardware.drivers.astm import AstmHost
from hardware.drivers.base import DeviceProtocol, LineSettings, Transport
from hardware.drivers.bm65 import Bm65
from hardware.drivers.cms50 import Cms50Legacy, Cms50Legacy4800, Cms50V7
from hardware.drivers.mtsics import MtSics
from hardware.errors import UnknownProtocol

__all__ = [
    "DRIVERS",
    "GROUPS",
    "PROTOCOL_CHOICES",
    "DeviceProtocol",
    "LineSettings",
    "Transport",
    "candidates",
]

DRIVERS: dict[str, type[DeviceProtocol]] = {
    cls.name: cls for cls in (Cms50V7, Cms50Legacy, Cms50Legacy4800, Bm65, AstmHost, MtSics)
}

#: Names that stand for several drivers, tried in this order. Drivers that only
#: listen come before those that send, and ASTM (which must send ENQ to be found)
#: comes last, so that probing disturbs other devices as little as possible.
GROUPS: dict[str, tuple[str, ...]] = {
    "cms50": ("cms50-v7", "cms50-legacy", "cms50-legacy-4800"),
    "auto": (
        "cms50-v7",
        "cms50-legacy",
        "cms50-legacy-4800",
        "mtsics",
        "bm65",
        "astm",
    ),
}

PROTOCOL_CHOICES: tuple[str, ...] = ("cms50", *DRIVERS)


def candidates(name: str) -> list[type[DeviceProtocol]]:
    """Driver classes a protocol name stands for, in the order to try them."""
    if name in GROUPS:
        return [DRIVERS[n] for n in GROUPS[name]]
    if name in DRIVERS:
        return [DRIVERS[name]]
    known = ", ".join(sorted({*GROUPS, *DRIVERS}))
    raise UnknownProtocol(f"unknown protocol {name!r}; use one of: {known}")
