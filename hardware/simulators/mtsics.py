"""A simulated Mettler-Toledo MT-SICS platform scale at 9600 8N1.

Left alone it plays a kiosk day: the platform is empty, someone steps on, the
reading wobbles while they settle, holds still, then they step off.
"""

from __future__ import annotations

import time
from typing import Any

from hardware.drivers.base import LineSettings
from hardware.simulators.base import PtySimulator

__all__ = ["MtSicsSimulator", "format_weight"]


def format_weight(status: str, kg: float, unit: str = "kg") -> bytes:
    """A weight reply as the scale pads it, e.g. `S S      72.45 kg`."""
    return f"S {status} {kg:>10.2f} {unit}\r\n".encode("ascii")


class MtSicsSimulator(PtySimulator):
    """Answers I2, I4, @, S, SI and Z; anything else gets ES."""

    protocol = "mtsics"
    line = LineSettings(9600)

    def __init__(
        self,
        *,
        weight: float | None = None,
        unit: str = "kg",
        serial_number: str = "SIM0123456",
        model: str = "ICS425s-Sim",
        supports_si: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        #: A fixed, stable weight; None plays the step-on/step-off cycle.
        self.weight = weight
        self.unit = unit
        self.serial_number = serial_number
        self.model = model
        #: Older balances know S but not SI.
        self.supports_si = supports_si
        #: Force the replies of an overloaded, underloaded or busy scale.
        self.overload = False
        self.underload = False
        self.busy = False
        self.commands: list[str] = []
        self._line = bytearray()
        self._zero = 0.0
        self._cycle_start = time.monotonic()
        self._person = self.rng.uniform(55.0, 95.0)

    def reading(self, now: float) -> tuple[float, bool]:
        """Gross weight and whether it is stable, at time `now`."""
        if self.weight is not None:
            return self.weight, True
        t = (now - self._cycle_start) % 12.0
        if t < 3.0:
            if t < 0.1:
                self._person = self.rng.uniform(55.0, 95.0)
            return self.rng.choice((0.0, 0.0, 0.01, -0.01)), True
        if t < 4.5:
            return self._person * (t - 3.0) / 1.5 + self.rng.uniform(-2, 2), False
        if t < 10.0:
            return self._person, True
        if t < 10.5:
            return self._person * (10.5 - t) / 0.5, False
        return 0.0, True

    def on_input(self, data: bytes) -> None:
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._line:
                    self._command(self._line.decode("ascii", "replace").strip())
                self._line.clear()
            elif len(self._line) < 64:
                self._line.append(byte)

    def _command(self, command: str) -> None:
        self.commands.append(command)
        now = time.monotonic()
        if command in ("I4", "@"):
            self.send(f'I4 A "{self.serial_number}"\r\n'.encode("ascii"))
        elif command == "I2":
            self.send(f'I2 A "{self.model}" "300.00 kg"\r\n'.encode("ascii"))
        elif command == "Z":
            gross, stable = self.reading(now)
            if stable:
                self._zero = gross
            self.send(b"Z A\r\n" if stable else b"Z I\r\n")
        elif command == "S" or (command == "SI" and self.supports_si):
            self._weigh(command, now)
        else:
            self.send(b"ES\r\n")

    def _weigh(self, command: str, now: float) -> None:
        if self.overload:
            self.send(b"S +\r\n")
        elif self.underload:
            self.send(b"S -\r\n")
        elif self.busy:
            self.send(b"S I\r\n")
        else:
            gross, stable = self.reading(now)
            if command == "S" and not stable:
                # S waits for stability; a busy reply stands in for the scale's timeout.
                self.send(b"S I\r\n")
            else:
                self.send(format_weight("S" if stable else "D", gross - self._zero, self.unit))
