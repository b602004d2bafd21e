"""Serial ports: discovery, and one reader thread per port that survives unplugging.

`PortReader` opens a port, finds out which device is on it (unless told),
feeds the bytes to that device's driver and delivers the driver's events to a
callback. When the port goes away (USB unplugged, simulator closed) it reopens
it with backoff; given a `PortLocator` instead of a path it looks the device up
again each time, so a device that comes back under a new name is found.
`DeviceHub` runs readers for every port with a known USB adapter and funnels
their events into one queue.
"""

from __future__ import annotations

import errno
import logging
import queue
import termios
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import serial
from serial.tools import list_ports as _list_ports

from hardware.drivers import candidates
from hardware.drivers.base import DeviceProtocol, LineSettings
from hardware.errors import (
    HardwareError,
    PortBusy,
    PortError,
    PortNotFound,
    PortPermissionDenied,
)
from hardware.readings import DeviceEvent, DeviceStatus, LinkState, utcnow

__all__ = [
    "USB_HINTS",
    "PortInfo",
    "PortLocator",
    "hint_for",
    "list_ports",
    "usb_locator",
    "open_port",
    "open_error",
    "detect",
    "PortReader",
    "DeviceHub",
]

log = logging.getLogger(__name__)

#: USB-serial bridges the supported devices ship with, to the protocol to try first.
USB_HINTS: dict[tuple[int, int], str] = {
    (0x10C4, 0xEA60): "cms50",  # Silicon Labs CP210x, in CMS50D+/E/F cables
    (0x067B, 0x2303): "bm65",  # Prolific PL2303, in the Beurer BM65 cable
}

EventCallback = Callable[[DeviceEvent], None]
#: Returns the path the device is at now, or None while it is absent.
PortLocator = Callable[[], str | None]


def hint_for(vid: int | None, pid: int | None) -> str | None:
    """The protocol a USB VID:PID suggests, if any."""
    if vid is None or pid is None:
        return None
    return USB_HINTS.get((vid, pid))


@dataclass(frozen=True, slots=True)
class PortInfo:
    """A serial port as the system lists it, with the protocol its USB IDs suggest."""

    device: str
    description: str = ""
    hwid: str = ""
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    hint: str | None = None

    @property
    def usb_id(self) -> str:
        return f"{self.vid:04X}:{self.pid:04X}" if self.vid is not None and self.pid else ""

    def as_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "description": self.description,
            "usb_id": self.usb_id,
            "serial_number": self.serial_number or "",
            "hint": self.hint or "",
        }


def list_ports() -> list[PortInfo]:
    """Serial ports present now, sorted by device name."""
    ports = []
    for p in _list_ports.comports():
        ports.append(
            PortInfo(
                device=p.device,
                description=p.description if p.description != "n/a" else "",
                hwid=p.hwid,
                vid=p.vid,
                pid=p.pid,
                serial_number=p.serial_number,
                hint=hint_for(p.vid, p.pid),
            )
        )
    return sorted(ports, key=lambda p: p.device)


def usb_locator(vid: int, pid: int, serial_number: str | None = None) -> PortLocator:
    """Find a USB-serial device by its IDs, wherever the system put it this time."""

    def locate() -> str | None:
        for p in list_ports():
            if p.vid == vid and p.pid == pid and serial_number in (None, p.serial_number):
                return p.device
        return None

    return locate


def open_error(path: str, exc: BaseException) -> HardwareError:
    """Turn pyserial's open failure into an error that says what to do."""
    code = getattr(exc, "errno", None)
    if code is None and exc.__context__ is not None:
        # pyserial reports termios failures without errno; the cause carries it.
        args = exc.__context__.args
        code = args[0] if args and isinstance(args[0], int) else None
    if code == errno.ENOTTY:
        return PortError(f"{path} is not a serial port", port=path)
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return PortNotFound(f"no serial port at {path}: is the device plugged in?", port=path)
    if code in (errno.EACCES, errno.EPERM):
        return PortPermissionDenied(
            f"permission denied on {path}: add this user to the 'dialout' group "
            "(or the group that owns the port) and log in again",
            port=path,
        )
    if code == errno.EBUSY:
        return PortBusy(f"{path} is in use by another program: close it and retry", port=path)
    return PortError(f"cannot open {path}: {exc}", port=path)


def open_port(path: str, line: LineSettings, *, timeout: float = 0.05) -> serial.Serial:
    """Open a serial port with the given line settings (never software flow control)."""
    settings = {"timeout": timeout, "write_timeout": 2.0, **line.serial_kwargs()}
    try:
        try:
            return serial.Serial(path, **settings)
        except termios.error as exc:
            if exc.args[0] != errno.EINVAL or line.parity == serial.PARITY_NONE:
                raise
            # A pty keeps PARODD but drops PARENB, and then refuses (EINVAL) a request
            # that would change nothing else. Going through no parity gets past that.
            port = serial.Serial(path, **{**settings, "parity": serial.PARITY_NONE})
            port.parity = line.parity
            return port
    except serial.SerialException as exc:
        raise open_error(path, exc) from exc
    except (OSError, ValueError, termios.error) as exc:
        raise PortError(f"cannot configure {path}: {exc}", port=path) from exc


def _configure(ser: serial.Serial, line: LineSettings) -> None:
    ser.apply_settings(line.serial_kwargs())
    ser.reset_input_buffer()


def _pump(ser: serial.Serial, protocol: DeviceProtocol) -> bool:
    """Move what has arrived into the driver and let it keep time; True if bytes came."""
    data = ser.read(max(1, ser.in_waiting))
    if data:
        protocol.data_received(data)
    protocol.tick()
    return bool(data)


def detect(
    ser: serial.Serial,
    protocol: str = "auto",
    *,
    port: str = "",
    options: Mapping[str, Mapping[str, Any]] | None = None,
    probe_seconds: float | None = None,
    stop: threading.Event | None = None,
) -> tuple[DeviceProtocol, list[DeviceEvent]] | None:
    """Try each driver the name stands for; the first that recognises its device wins.

    The winning driver is returned still connected, with the events it produced
    while probing, so nothing it read is lost. None if no driver recognised anything.
    """
    options = options or {}
    for cls in candidates(protocol):
        if stop is not None and stop.is_set():
            return None
        _configure(ser, cls.line)
        events: list[DeviceEvent] = []
        driver = cls(events.append, port=port, probing=True, **options.get(cls.name, {}))
        driver.connection_made(ser)
        deadline = time.monotonic() + (probe_seconds or cls.probe_seconds)
        while time.monotonic() < deadline and not driver.recognised:
            _pump(ser, driver)
        if driver.recognised:
            log.info("%s: found %s (%s)", port, cls.name, cls.line.describe())
            return driver, events
        driver.connection_lost(None)
    return None


class _Stalled(Exception):
    pass


class PortReader(threading.Thread):
    """Reads one port in its own thread, reconnecting with backoff, until `stop()`."""

    def __init__(
        self,
        port: str | PortLocator,
        on_event: EventCallback,
        *,
        protocol: str = "auto",
        options: Mapping[str, Mapping[str, Any]] | None = None,
        label: str | None = None,
        backoff: tuple[float, float] = (0.2, 5.0),
        probe_seconds: float | None = None,
        read_timeout: float = 0.05,
    ) -> None:
        self.port_name: str = label or (port if isinstance(port, str) else repr(port))
        super().__init__(name=f"port-reader {self.port_name}", daemon=True)
        self._locate: PortLocator = (lambda: port) if isinstance(port, str) else port
        self.on_event = on_event
        self.protocol_name = protocol
        self._candidates = candidates(protocol)
        self.options = dict(options or {})
        self.backoff = backoff
        self.probe_seconds = probe_seconds
        self.read_timeout = read_timeout
        self._stop_event = threading.Event()
        #: The driver found on the port; kept across reconnects (it is the same device).
        self.driver_class: type[DeviceProtocol] | None = (
            self._candidates[0] if len(self._candidates) == 1 else None
        )
        self.driver: DeviceProtocol | None = None
        self.connects = 0
        self.last_error: HardwareError | None = None

    # -- control ---------------------------------------------------------------------------

    def stop(self, timeout: float | None = 5.0) -> None:
        """Ask the thread to finish, and wait for it."""
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop_event.is_set()

    def _status(self, state: LinkState, detail: str = "", protocol: str = "") -> None:
        name = protocol or (self.driver_class.name if self.driver_class else self.protocol_name)
        self._deliver(DeviceStatus(self.port_name, state, name, detail, utcnow()))

    def _deliver(self, event: DeviceEvent) -> None:
        try:
            self.on_event(event)
        except Exception:
            # A failing consumer must not take the port down with it.
            log.exception("%s: event callback failed", self.port_name)

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> None:
        delay = self.backoff[0]
        reported: str | None = None
        while not self.stopping:
            path = self._locate()
            if path is None:
                error: HardwareError = PortNotFound(
                    f"{self.port_name}: device not found; is it plugged in?", port=self.port_name
                )
            else:
                try:
                    ser = open_port(
                        path,
                        (self.driver_class or self._candidates[0]).line,
                        timeout=self.read_timeout,
                    )
                except HardwareError as exc:
                    error = exc
                except Exception as exc:
                    # Whatever went wrong, the reader thread must live to retry.
                    log.exception("%s: unexpected error opening %s", self.port_name, path)
                    error = PortError(f"cannot open {path}: {exc}", port=path)
                else:
                    reported = None
                    useful = self._session(ser, path)
                    delay = self.backoff[0] if useful else min(delay * 2, self.backoff[1])
                    self._stop_event.wait(delay)
                    continue
            self.last_error = error
            if error.message != reported:
                # Say it once, not on every retry.
                reported = error.message
                log.info("%s", error.message)
                self._status(LinkState.ERROR, error.message)
            self._stop_event.wait(delay)
            delay = min(delay * 2, self.backoff[1])

    def _session(self, ser: serial.Serial, path: str) -> bool:
        """Run one connection until it fails or we stop; True if the device talked."""
        self.connects += 1
        talked = False
        driver: DeviceProtocol | None = None
        try:
            self._status(LinkState.CONNECTED, path)
            driver = self._start_driver(ser)
            if driver is None:
                tried = ", ".join(c.name for c in self._candidates)
                self._status(LinkState.NOT_ANSWERING, f"no supported device answered (tried {tried})")
                return False
            self.driver = driver
            talked = driver.recognised
            last_data = time.monotonic()
            silence = driver.silence_timeout
            while not self.stopping:
                if _pump(ser, driver):
                    last_data = time.monotonic()
                    talked = talked or driver.recognised
                elif silence is not None and time.monotonic() - last_data > silence:
                    raise _Stalled(f"no data for {silence:.0f} s")
            try:
                driver.close()
            except serial.SerialException:
                pass
            driver.connection_lost(None)
            return talked
        except (serial.SerialException, OSError, termios.error, _Stalled) as exc:
            log.info("%s: connection lost: %s", self.port_name, exc)
            if driver is not None:
                driver.connection_lost(exc)
            self._status(LinkState.DISCONNECTED, str(exc))
            return talked
        finally:
            self.driver = None
            try:
                ser.close()
            except (serial.SerialException, OSError):
                pass

    def _start_driver(self, ser: serial.Serial) -> DeviceProtocol | None:
        if self.driver_class is not None:
            cls = self.driver_class
            _configure(ser, cls.line)
            driver = cls(self._deliver, port=self.port_name, **self.options.get(cls.name, {}))
            driver.connection_made(ser)
            return driver
        found = detect(
            ser,
            self.protocol_name,
            port=self.port_name,
            options=self.options,
            probe_seconds=self.probe_seconds,
            stop=self._stop_event,
        )
        if found is None:
            return None
        driver, events = found
        self.driver_class = type(driver)
        driver.emit = self._deliver
        self._status(LinkState.DETECTED, driver.line.describe(), driver.name)
        for event in events:
            self._deliver(event)
        return driver


class DeviceHub:
    """Readers for the kiosk's devices: the ports it is told of and those with known USB IDs."""

    def __init__(
        self,
        on_event: EventCallback | None = None,
        *,
        scan: bool = True,
        scan_interval: float = 5.0,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        **reader_options: Any,
    ) -> None:
        #: Events from every reader, unless `on_event` takes them instead.
        self.events: queue.Queue[DeviceEvent] = queue.Queue()
        self.on_event: EventCallback = on_event or self.events.put
        self.scan = scan
        self.scan_interval = scan_interval
        self.options = options
        self.reader_options = reader_options
        self.readers: dict[str, PortReader] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._scanner: threading.Thread | None = None

    def open(self, port: str | PortLocator, protocol: str = "auto", label: str | None = None) -> PortReader:
        """Start reading a port (idempotent for a path already open)."""
        name = label or (port if isinstance(port, str) else repr(port))
        with self._lock:
            reader = self.readers.get(name)
            if reader is not None and reader.is_alive():
                return reader
            reader = PortReader(
                port,
                self.on_event,
                protocol=protocol,
                options=self.options,
                label=name,
                **self.reader_options,
            )
            self.readers[name] = reader
        reader.start()
        return reader

    def close(self, name: str) -> None:
        with self._lock:
            reader = self.readers.pop(name, None)
        if reader is not None:
            reader.stop()

    def rescan(self) -> list[str]:
        """Open readers for newly present ports with a known USB adapter; the names opened."""
        opened = []
        for info in list_ports():
            if info.hint and info.device not in self.readers:
                self.open(info.device, info.hint)
                opened.append(info.device)
        return opened

    def start(self) -> None:
        if self.scan and self._scanner is None:
            self._scanner = threading.Thread(target=self._scan_loop, name="device-scan", daemon=True)
            self._scanner.start()

    def _scan_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.rescan()
            except Exception:
                log.exception("port scan failed")
            self._stop.wait(self.scan_interval)

    def stop(self) -> None:
        self._stop.set()
        if self._scanner is not None:
            self._scanner.join(5)
        for name in list(self.readers):
            self.close(name)

    def __enter__(self) -> DeviceHub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
