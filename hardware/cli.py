"""`devices`: list serial ports, read a device, or run a simulated one on a pty.

The group is meant to be added to the main `faplink` CLI; it also runs alone
as `python -m hardware.cli`.
"""

from __future__ import annotations

import json
import queue
import signal
import sys
import time
from types import FrameType
from typing import Any

import click

from hardware.drivers import PROTOCOL_CHOICES, candidates
from hardware.errors import HardwareError
from hardware.ports import PortReader, list_ports, open_port
from hardware.readings import DeviceStatus, LinkState, Reading
from hardware.simulators import SIMULATORS, create

__all__ = ["devices"]


@click.group(name="devices")
def devices() -> None:
    """Medical devices on serial ports: list them, read them, simulate them."""


@devices.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_command(as_json: bool) -> None:
    """List serial ports, with the protocol their USB adapter suggests."""
    ports = list_ports()
    if as_json:
        for port in ports:
            click.echo(json.dumps(port.as_json()))
        return
    if not ports:
        click.echo("no serial ports found")
        return
    rows = [("PORT", "USB ID", "PROTOCOL", "DESCRIPTION")]
    rows += [(p.device, p.usb_id or "-", p.hint or "-", p.description) for p in ports]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        first = "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        click.echo(f"{first}  {row[3]}".rstrip())


def _default_protocol(port: str) -> str:
    for info in list_ports():
        if info.device == port and info.hint:
            return info.hint
    return "auto"


@devices.command("read")
@click.argument("port")
@click.option(
    "--protocol",
    type=click.Choice(PROTOCOL_CHOICES),
    default=None,
    help="Device protocol; detected when omitted.",
)
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many readings.")
@click.option("--seconds", type=click.FloatRange(min=0, min_open=True), help="Stop after this long.")
@click.option(
    "--probe-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="How long each protocol gets to answer during detection.",
)
def read_command(
    port: str,
    protocol: str | None,
    count: int | None,
    seconds: float | None,
    probe_seconds: float | None,
) -> None:
    """Print readings from PORT as JSON lines (link events go to stderr)."""
    protocol = protocol or _default_protocol(port)
    try:
        # Fail now with a clear message rather than retry a port that is not there.
        open_port(port, candidates(protocol)[0].line).close()
    except HardwareError as exc:
        raise click.ClickException(exc.message) from exc

    events: queue.Queue[Any] = queue.Queue()
    reader = PortReader(port, events.put, protocol=protocol, probe_seconds=probe_seconds)
    reader.start()
    deadline = time.monotonic() + seconds if seconds else None
    readings = 0
    try:
        while count is None or readings < count:
            timeout = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if timeout <= 0:
                break
            try:
                event = events.get(timeout=timeout)
            except queue.Empty:
                continue
            if isinstance(event, DeviceStatus):
                click.echo(f"{event.state.value}: {event.detail or event.protocol}", err=True)
                if event.state is LinkState.NOT_ANSWERING and reader.driver_class is None:
                    raise click.ClickException(f"{port}: {event.detail}")
                continue
            click.echo(json.dumps(event.as_json()))
            if isinstance(event, Reading):
                readings += 1
    except KeyboardInterrupt:
        pass
    finally:
        reader.stop()
    if count is not None and readings < count:
        raise click.ClickException(
            f"{port}: device not answering: {readings} of {count} readings in {seconds} s"
        )


_SIM_EXTRAS = {
    "cms50": ("rate",),
    "cms50-v7": ("rate",),
    "cms50-legacy": ("rate",),
    "mtsics": ("weight",),
    "astm": ("interval",),
    "bm65": (),
}


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@devices.command("simulate")
@click.argument("protocol", type=click.Choice(list(SIMULATORS)))
@click.option(
    "--garbage",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Chance of random bytes before each frame.",
)
@click.option(
    "--bad-checksums",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Chance of a corrupted frame (checksum, or sync bits where there is none).",
)
@click.option("--partial", type=click.FloatRange(0, 1), default=0.0, help="Chance of a frame cut short.")
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    default=60.0,
    help="Oximeter packets per second; 0 sends as fast as the host reads.",
)
@click.option(
    "--weight",
    type=float,
    default=None,
    help="Scale: a fixed weight in kg instead of people stepping on and off.",
)
@click.option("--interval", type=click.FloatRange(min=0), default=5.0, help="ASTM: seconds between results.")
@click.option(
    "--link",
    type=click.Path(dir_okay=False),
    help="Keep a symlink here pointing at the current pty (like /dev/serial/by-id).",
)
@click.option(
    "--disconnect-every",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Unplug every S seconds.",
)
@click.option(
    "--reconnect-after",
    type=click.FloatRange(min=0),
    default=1.0,
    help="Seconds unplugged before coming back on a new pty.",
)
@click.option("--any-line", is_flag=True, help="Talk whatever baud rate and parity the host sets.")
@click.option("--seed", type=int, default=None, help="Seed for values and faults.")
@click.option(
    "--seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Stop after this long (default: until Ctrl+C).",
)
def simulate_command(
    protocol: str,
    garbage: float,
    bad_checksums: float,
    partial: float,
    rate: float,
    weight: float | None,
    interval: float,
    link: str | None,
    disconnect_every: float | None,
    reconnect_after: float,
    any_line: bool,
    seed: int | None,
    seconds: float | None,
) -> None:
    """Run a simulated PROTOCOL device on a pty; its path is the first line printed."""
    extras = {"rate": rate, "weight": weight, "interval": interval}
    options: dict[str, Any] = {k: extras[k] for k in _SIM_EXTRAS[protocol]}
    sim = create(
        protocol,
        link=link,
        garbage_rate=garbage,
        bad_checksum_rate=bad_checksums,
        partial_rate=partial,
        seed=seed,
        check_line=not any_line,
        **options,
    )
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        click.echo(sim.start())
        sys.stdout.flush()
        started = time.monotonic()
        next_unplug = started + disconnect_every if disconnect_every else None
        while seconds is None or time.monotonic() - started < seconds:
            time.sleep(0.05)
            if next_unplug is not None and time.monotonic() >= next_unplug:
                sim.disconnect()
                click.echo("unplugged", err=True)
                time.sleep(reconnect_after)
                click.echo(sim.reconnect())
                sys.stdout.flush()
                next_unplug = time.monotonic() + (disconnect_every or 0)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        signal.signal(signal.SIGTERM, previous)
        click.echo(
            f"simulator stopped: {sim.bytes_sent} bytes sent, {sim.bytes_dropped} dropped, "
            f"{sim.garbage_injected} garbage bursts, {sim.checksums_broken} corrupted, "
            f"{sim.frames_cut} cut",
            err=True,
        )


if __name__ == "__main__":
    devices(prog_name="devices")
