"""Medical devices on serial ports: drivers, port readers, simulators.

This package imports nothing else of faplink. The node starts a `DeviceHub`
(or one `PortReader` per port) and receives `Reading`, `NoReading` and
`DeviceStatus` events through a callback or the hub's queue::

    hub = DeviceHub(on_event)          # or leave out on_event and read hub.events
    hub.start()                        # readers for ports with a known USB adapter
    hub.open("/dev/ttyUSB0", "auto")   # any other port; "auto" detects the device
    ...
    hub.stop()

Callbacks run on the reader threads: hand events over, do not block them.
"""

from hardware.errors import HardwareError
from hardware.ports import DeviceHub, PortInfo, PortReader, list_ports, usb_locator
from hardware.readings import (
    DeviceEvent,
    DeviceStatus,
    LinkState,
    NoReading,
    NoReadingReason,
    Reading,
)

__all__ = [
    "DeviceEvent",
    "DeviceHub",
    "DeviceStatus",
    "HardwareError",
    "LinkState",
    "NoReading",
    "NoReadingReason",
    "PortInfo",
    "PortReader",
    "Reading",
    "list_ports",
    "usb_locator",
]
