"""Port readers: unplugging and replugging, missing ports, permissions, detection, the hub."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from datetime import datetime

import pytest
import serial

from hardware.drivers import DRIVERS
from hardware.errors import PortError, PortNotFound, PortPermissionDenied
from hardware.ports import DeviceHub, hint_for, list_ports, open_error, open_port
from hardware.readings import PULSE_RATE, SPO2, LinkState, Reading
from hardware.simulators import (
    AstmSimulator,
    Bm65Simulator,
    Cms50LegacySimulator,
    Cms50V7Simulator,
    MtSicsSimulator,
)
from hardware.simulators.astm import glucose_message
from hardware.simulators.bm65 import sample_records
from tests.hardware.support import wait_until
from tests.helpers.timing import DEADLINE_S


def test_an_oximeter_unplugged_mid_stream_is_read_again_on_the_same_path(simulator, reader, tmp_path):
    sim = simulator(Cms50V7Simulator(link=tmp_path / "oximeter"))
    port_reader, log = reader(sim.path, "cms50", probe_seconds=0.5)
    log.wait_readings(10, SPO2)
    sim.disconnect()
    assert "device reports readiness" in log.wait_status(LinkState.DISCONNECTED).detail
    assert "plugged in" in log.wait_status(LinkState.ERROR).detail
    before = len(log.readings(SPO2))
    sim.reconnect()
    log.wait_readings(before + 10, SPO2)
    assert port_reader.connects == 2
    assert len(log.statuses(LinkState.DETECTED)) == 1, "the device found once is reused"
    assert all(95 <= r.value <= 99 for r in log.readings(SPO2))


def test_a_device_back_on_a_new_pty_is_found_through_its_locator(simulator, reader):
    sim = simulator(Cms50LegacySimulator())
    first = sim.path
    port_reader, log = reader(
        lambda: sim.slave_path if sim.connected else None, "cms50-legacy", label="oximeter"
    )
    log.wait_readings(5, PULSE_RATE)
    sim.disconnect()
    log.wait_status(LinkState.DISCONNECTED)
    # Hold the freed pty number so that the device really comes back elsewhere.
    squatter = os.openpty()
    try:
        second = sim.reconnect()
        assert second != first
        before = len(log.readings(PULSE_RATE))
        log.wait_readings(before + 5, PULSE_RATE)
    finally:
        for fd in squatter:
            os.close(fd)
    assert {r.port for r in log.readings()} == {"oximeter"}


def test_a_reader_started_before_the_device_waits_for_it(simulator, reader, tmp_path):
    link = tmp_path / "ttyUSB-scale"
    looks: list[str] = []  # each time the reader looks for its port

    def locate() -> str:
        looks.append(str(link))
        return str(link)

    port_reader, log = reader(locate, "mtsics", label=str(link))
    assert "no serial port at" in log.wait_status(LinkState.ERROR).detail
    wait_until(lambda: len(looks) >= 4, what="a few retries")
    assert len(log.statuses(LinkState.ERROR)) == 1, "said once, not per retry"
    simulator(MtSicsSimulator(weight=81.3, link=link))
    assert log.wait_readings(1)[0].value == 81.3


def test_an_astm_session_cut_by_unplugging_is_sent_again_whole(simulator, reader, tmp_path):
    results = [f"R|{i}|^^^T{i}|{i}|U/L||N||F" for i in range(1, 13)]
    records = [*glucose_message(5.0, datetime(2024, 3, 15))[:3], *results, "L|1|N"]
    sim = simulator(
        AstmSimulator(
            messages=[records], link=tmp_path / "lis", frame_gap=0.05, reply_timeout=0.5, retry_wait=0.05
        )
    )
    port_reader, log = reader(sim.path, "astm")
    wait_until(lambda: sim.frames_sent >= 5, what="a few frames")
    sim.disconnect()
    log.wait_status(LinkState.DISCONNECTED)
    assert not log.readings()
    sim.reconnect()
    log.wait_readings(12)
    wait_until(lambda: sim.delivered, what="delivery")
    assert [r.extra["test_code"] for r in log.readings()] == [f"T{i}" for i in range(1, 13)]


def test_a_cuff_unplugged_mid_download_is_downloaded_again(simulator, reader, tmp_path):
    records = sample_records(30)
    sim = simulator(Bm65Simulator(records=records, link=tmp_path / "cuff"))
    port_reader, log = reader(sim.path, "bm65", options={"bm65": {"reply_timeout": 0.3}})
    log.wait_readings(6)
    sim.disconnect()
    sim.reconnect()
    log.wait_status(LinkState.DOWNLOAD_COMPLETE)
    measured = {r.extra["device_time"] for r in log.readings()}
    assert measured == {r.measured_at.isoformat(timespec="minutes") for r in records}


def test_nothing_answering_is_reported_with_the_protocols_tried(simulator, reader):
    sim = simulator(Bm65Simulator())
    sim.asleep = True
    port_reader, log = reader(sim.path, "cms50", probe_seconds=0.2)
    status = log.wait_status(LinkState.NOT_ANSWERING)
    assert status.detail == ("no supported device answered (tried cms50-v7, cms50-legacy, cms50-legacy-4800)")


def test_a_failing_consumer_does_not_stop_the_reader(simulator):
    sim = simulator(Cms50V7Simulator())
    seen: list[Reading] = []

    def consumer(event):
        if isinstance(event, Reading):
            seen.append(event)
            if len(seen) < 5:
                raise RuntimeError("consumer bug")

    with DeviceHub(consumer, scan=False) as hub:
        hub.open(sim.path, "cms50-v7")
        wait_until(lambda: len(seen) >= 20, what="readings after the errors")


def test_the_hub_funnels_events_from_several_ports_into_one_queue(simulator):
    scale = simulator(MtSicsSimulator(weight=70.0))
    oximeter = simulator(Cms50V7Simulator())
    with DeviceHub(scan=False) as hub:
        hub.open(scale.path, "mtsics")
        hub.open(oximeter.path, "cms50")
        ports: set[str] = set()
        deadline = time.monotonic() + DEADLINE_S
        while ports != {scale.path, oximeter.path} and time.monotonic() < deadline:
            event = hub.events.get(timeout=DEADLINE_S)
            if isinstance(event, Reading):
                ports.add(event.port)
        assert ports == {scale.path, oximeter.path}
        assert hub.open(scale.path) is hub.readers[scale.path], "one reader per port"
    assert not any(r.is_alive() for r in hub.readers.values())


def test_usb_ids_hint_at_the_protocol():
    assert hint_for(0x10C4, 0xEA60) == "cms50"
    assert hint_for(0x067B, 0x2303) == "bm65"
    assert hint_for(0x0403, 0x6001) is None
    assert hint_for(None, None) is None
    assert all(p.device for p in list_ports())


def test_no_driver_ever_asks_for_software_flow_control():
    for cls in DRIVERS.values():
        assert cls.line.serial_kwargs()["xonxoff"] is False, cls.name


def test_a_missing_port_says_to_plug_the_device_in():
    with pytest.raises(PortNotFound, match="no serial port at /dev/ttyUSB-none"):
        open_port("/dev/ttyUSB-none", DRIVERS["bm65"].line)


def test_a_file_that_is_no_tty_is_refused(tmp_path):
    path = tmp_path / "not-a-port"
    path.write_text("")
    with pytest.raises(PortError, match="not a serial port"):
        open_port(str(path), DRIVERS["bm65"].line)


def test_permission_errors_name_the_dialout_group():
    exc = serial.SerialException(errno.EACCES, "could not open port /dev/ttyUSB0")
    error = open_error("/dev/ttyUSB0", exc)
    assert isinstance(error, PortPermissionDenied)
    assert "dialout" in error.message


_AS_NOBODY = """
import os, sys
from hardware.cli import devices
os.setgid(65534)
os.setuid(65534)
devices(sys.argv[1:], prog_name="devices")
"""


def test_a_port_this_user_may_not_open_gives_a_clear_message(simulator):
    sim = simulator(Cms50V7Simulator())
    if os.geteuid() == 0:
        # A pty slave is root:tty 0620: once the child drops to nobody it may not open it.
        command = [sys.executable, "-c", _AS_NOBODY]
    else:
        os.chmod(sim.path, 0)
        command = [sys.executable, "-m", "hardware.cli"]
    result = subprocess.run(
        [*command, "read", sim.path, "--protocol", "cms50-v7"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1, result.stderr
    assert "permission denied on" in result.stderr and "dialout" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_odd_parity_port_can_be_closed_and_opened_again(simulator):
    # A pty drops PARENB and then refuses, with EINVAL, to be set to 8O1 a second time.
    sim = simulator(Cms50LegacySimulator())
    for _ in range(3):
        port = open_port(sim.path, DRIVERS["cms50-legacy"].line)
        try:
            assert port.parity == serial.PARITY_ODD
            wait_until(lambda p=port: p.in_waiting >= 10, what="data at 19200 8O1")
        finally:
            port.close()
