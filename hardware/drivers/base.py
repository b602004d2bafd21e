"""The shape every device driver shares: a protocol over a serial transport.

As in `serial.threaded.Protocol`, the port reader calls `connection_made`,
`data_received` and `connection_lost`; it also calls `tick` several times a
second so that drivers can keep time (keep-alives, reply timeouts) without
threads of their own. Drivers report through the `emit` callback they are given.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from hardware.readings import DeviceEvent, DeviceStatus, LinkState, utcnow

__all__ = ["LineSettings", "Transport", "Emit", "Clock", "DeviceProtocol"]

log = logging.getLogger(__name__)

Emit = Callable[[DeviceEvent], None]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class LineSettings:
    """Serial line parameters in pyserial's terms."""

    baudrate: int
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1

    def describe(self) -> str:
        stop = int(self.stopbits) if self.stopbits == int(self.stopbits) else self.stopbits
        return f"{self.baudrate} {self.bytesize}{self.parity}{stop}"

    def serial_kwargs(self) -> dict[str, Any]:
        # xonxoff stays off whatever a device's manual says: the tty layer would
        # swallow 0x11/0x13, which are ordinary data bytes in these protocols.
        return {
            "baudrate": self.baudrate,
            "bytesize": self.bytesize,
            "parity": self.parity,
            "stopbits": self.stopbits,
            "xonxoff": False,
            "rtscts": False,
            "dsrdtr": False,
        }


class Transport(Protocol):
    """What a driver may do with its port: write bytes to it."""

    def write(self, data: bytes, /) -> int | None: ...


class DeviceProtocol:
    """Base class of the drivers; subclasses set the class attributes and override the hooks."""

    #: Name used on the command line and in `DRIVERS`.
    name: ClassVar[str] = ""
    #: Line settings the device speaks.
    line: ClassVar[LineSettings] = LineSettings(9600)
    #: How long detection waits for this driver to recognise its device.
    probe_seconds: ClassVar[float] = 1.0
    #: Silence after which the reader reopens the port; None where silence is normal.
    silence_timeout: ClassVar[float | None] = None
    #: Model name used on readings until the device tells its own.
    default_model: ClassVar[str] = ""

    def __init__(
        self,
        emit: Emit,
        *,
        port: str = "",
        clock: Clock | None = None,
        probing: bool = False,
    ) -> None:
        self.emit = emit
        self.port = port
        self.clock: Clock = clock or time.monotonic
        self.probing = probing
        self.transport: Transport | None = None
        self.device_model = self.default_model
        self.device_serial = ""
        #: Set once the driver has seen traffic only its device would send.
        self.recognised = False

    def connection_made(self, transport: Transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        raise NotImplementedError

    def connection_lost(self, exc: BaseException | None) -> None:
        self.transport = None

    def tick(self) -> None:
        """Called by the reader several times a second, whether or not data arrived."""

    def close(self) -> None:
        """Called before the reader closes the port on purpose (not after an unplug)."""

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def status(self, state: LinkState, detail: str = "", **counts: int) -> None:
        self.emit(DeviceStatus(self.port, state, self.name, detail, utcnow(), counts))
