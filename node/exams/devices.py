"""Readings from the post's serial devices (vitals, and lab results from an analyser over ASTM),
held for «Взять показание» and pushed live to the page.

The node runs one `hardware.DeviceHub` (ports with a known USB adapter, plus those
listed in DEVICE_PORTS); every reading is converted to the unit we store and
kept as the latest of its kind, and sent to open exam pages over Socket.IO
(namespace /devices, event "reading").
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app, session

from hardware import DeviceHub, DeviceStatus, Reading
from sync.clock import utcnow
from web.errors import USER_ERRORS
from web.vitals import UNIT_LABELS

from ..extensions import socketio
from .vitals import to_ucum

__all__ = ["DeviceValue", "DeviceFeed", "start_devices", "device_feed", "NAMESPACE"]

log = logging.getLogger(__name__)

NAMESPACE = "/devices"
#: A reading older than this is not offered for a new exam.
FRESH = timedelta(minutes=30)
#: An oximeter streams many samples a second: pages need one a second at most.
PUSH_INTERVAL = 1.0


@dataclass(frozen=True)
class DeviceValue:
    """A device reading in the unit we store: what «Взять показание» puts in the form."""

    loinc: str
    value: float
    unit: str
    device: str
    device_serial: str
    port: str
    taken_at: datetime  # naive UTC

    def as_json(self) -> dict[str, Any]:
        return {
            "loinc": self.loinc,
            "value": self.value,
            "unit": self.unit,
            "unit_label": UNIT_LABELS.get(self.unit, self.unit),
            "device": self.device,
            "device_serial": self.device_serial,
            "port": self.port,
            "taken_at": self.taken_at.isoformat() + "Z",
        }


class DeviceFeed:
    """The latest value of each vital from any device, and each port's last link state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[str, DeviceValue] = {}
        self._links: dict[str, dict[str, Any]] = {}
        self._pushed: dict[str, float] = {}
        self.hub: DeviceHub | None = None

    def on_event(self, event: Any) -> None:
        """Called on the readers' threads: convert, keep, push; never block or raise."""
        if isinstance(event, DeviceStatus):
            with self._lock:
                self._links[event.port] = event.as_json()
            return
        if not isinstance(event, Reading):
            return
        try:
            code, value, unit = to_ucum(event.loinc, event.value, event.unit)
        except USER_ERRORS:
            return  # a quantity the exam does not take (an analyte unmapped, e.g. ALT)
        item = DeviceValue(
            code,
            value,
            unit,
            event.device_model,
            event.device_serial,
            event.port,
            event.timestamp.astimezone(UTC).replace(tzinfo=None, microsecond=0),
        )
        with self._lock:
            self._latest[code] = item
            moment = time.monotonic()
            if moment - self._pushed.get(code, -PUSH_INTERVAL) < PUSH_INTERVAL:
                return
            self._pushed[code] = moment
        try:
            socketio.emit("reading", item.as_json(), namespace=NAMESPACE)
        except Exception:  # no server yet (tests, start-up): the page still gets it on load
            log.debug("could not push a reading", exc_info=True)

    def latest(self, now: datetime | None = None) -> dict[str, DeviceValue]:
        now = now or utcnow()
        with self._lock:
            return {code: v for code, v in self._latest.items() if now - v.taken_at <= FRESH}

    def links(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._links[name] for name in sorted(self._links)]


def start_devices(app: Flask) -> DeviceFeed:
    """Start reading the post's devices (unless switched off) and keep the feed with the app."""
    feed = DeviceFeed()
    app.extensions["device_feed"] = feed
    ports = app.config.get("DEVICE_PORTS") or []
    scan = bool(app.config.get("DEVICE_SCAN", not app.testing))
    if not ports and not scan:
        return feed
    hub = DeviceHub(feed.on_event, scan=scan)
    for entry in ports:
        if isinstance(entry, str):
            entry = {"port": entry}
        try:
            hub.open(str(entry["port"]), str(entry.get("protocol") or "auto"), label=entry.get("label"))
        except Exception as exc:  # a wrong entry must not stop the node
            log.warning("device port %r not opened: %s", entry, exc)
    hub.start()
    feed.hub = hub
    atexit.register(hub.stop)
    return feed


def device_feed() -> DeviceFeed:
    feed = current_app.extensions.get("device_feed")
    if feed is None:
        feed = current_app.extensions["device_feed"] = DeviceFeed()
    return feed


@socketio.on("connect", namespace=NAMESPACE)
def _connect(auth: Any = None) -> bool:
    """Only a logged-in feldsher's page receives readings."""
    return bool(session.get("staff_id"))
