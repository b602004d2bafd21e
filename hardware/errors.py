"""One root error for the hardware package; every message says what is wrong and what to do."""

from __future__ import annotations

__all__ = [
    "HardwareError",
    "PortNotFound",
    "PortPermissionDenied",
    "PortBusy",
    "PortError",
    "DeviceNotAnswering",
    "UnknownProtocol",
    "InvalidReading",
]


class HardwareError(Exception):
    """Root of every error raised by `hardware`."""

    #: Machine-readable code, stable across releases.
    code = "hardware_error"

    def __init__(self, message: str, *, port: str | None = None) -> None:
        self.message = message
        self.port = port
        super().__init__(message)

    def as_dict(self) -> dict[str, str]:
        out = {"error": self.code, "message": self.message}
        if self.port:
            out["port"] = self.port
        return out


class PortError(HardwareError):
    """A serial port could not be opened or used."""

    code = "port_error"


class PortNotFound(PortError):
    """The port does not exist: the device is unplugged or the name is wrong."""

    code = "port_not_found"


class PortPermissionDenied(PortError):
    """The port exists but this user may not open it."""

    code = "permission_denied"


class PortBusy(PortError):
    """Another program holds the port."""

    code = "port_busy"


class DeviceNotAnswering(HardwareError):
    """The port opened but no supported device spoke on it."""

    code = "not_answering"


class UnknownProtocol(HardwareError):
    """A protocol name that no driver implements."""

    code = "unknown_protocol"


class InvalidReading(HardwareError, ValueError):
    """A value outside what the measured quantity can physically be."""

    code = "invalid_reading"
