"""The `devices` command group: list, read, simulate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from click.testing import CliRunner

from hardware.cli import devices
from hardware.simulators import Bm65Simulator, Cms50V7Simulator, MtSicsSimulator


def run(*args: str):
    return CliRunner().invoke(devices, list(args), catch_exceptions=False)


def test_list_prints_a_table_or_json_lines():
    table = run("list")
    assert table.exit_code == 0
    assert table.output.startswith(("PORT", "no serial ports found"))
    as_json = run("list", "--json")
    assert as_json.exit_code == 0
    for line in as_json.output.splitlines():
        assert set(json.loads(line)) == {"device", "description", "usb_id", "serial_number", "hint"}


def test_read_prints_readings_as_json_lines(simulator):
    sim = simulator(MtSicsSimulator(weight=72.45))
    result = run("read", sim.path, "--protocol", "mtsics", "--count", "1", "--seconds", "5")
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert (line["type"], line["loinc"], line["value"], line["unit"]) == (
        "reading",
        "29463-7",
        72.45,
        "kg",
    )


def test_read_detects_the_protocol_when_none_is_given(simulator):
    sim = simulator(Cms50V7Simulator())
    result = run("read", sim.path, "--count", "4", "--seconds", "10", "--probe-seconds", "0.5")
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert len([x for x in lines if x["type"] == "reading"]) == 4
    assert "detected: 115200 8N1" in result.stderr


def test_read_of_a_missing_port_fails_with_a_message_not_a_traceback():
    result = CliRunner().invoke(devices, ["read", "/dev/ttyUSB-gone", "--protocol", "bm65"])
    assert result.exit_code == 1
    assert "no serial port at /dev/ttyUSB-gone: is the device plugged in?" in result.output


def test_read_says_when_the_device_does_not_answer(simulator):
    sim = simulator(Bm65Simulator())
    sim.asleep = True
    result = CliRunner().invoke(
        devices, ["read", sim.path, "--protocol", "bm65", "--count", "1", "--seconds", "3.5"]
    )
    assert result.exit_code == 1
    assert "not_answering: no reply to ping" in result.stderr
    assert "device not answering: 0 of 1 readings" in result.stderr


def test_read_says_when_nothing_is_detected(simulator):
    sim = simulator(Bm65Simulator())
    sim.asleep = True
    result = CliRunner().invoke(devices, ["read", sim.path, "--protocol", "cms50", "--probe-seconds", "0.2"])
    assert result.exit_code == 1
    assert "no supported device answered (tried cms50-v7" in result.stderr


def test_simulate_prints_its_pty_first_and_a_reader_can_use_it():
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "hardware.cli", "simulate", "cms50-legacy", "--garbage", "0.1", "--seed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,
    )
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/pts/")
        result = run("read", path, "--protocol", "cms50-legacy", "--count", "10", "--seconds", "5")
        assert result.exit_code == 0, result.output
        values = [json.loads(x)["value"] for x in result.stdout.splitlines()]
        assert len(values) >= 10
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "simulator stopped:" in err and "garbage bursts" in err


def test_simulate_stops_after_seconds_and_can_unplug_itself(tmp_path):
    link = tmp_path / "ttySIM"
    result = run(
        "simulate",
        "mtsics",
        "--weight",
        "70",
        "--link",
        str(link),
        "--seconds",
        "0.6",
        "--disconnect-every",
        "0.2",
        "--reconnect-after",
        "0.05",
    )
    assert result.exit_code == 0
    paths = result.stdout.splitlines()
    assert paths[0] == str(link) and len(paths) >= 2
    assert "unplugged" in result.stderr
    assert not link.exists(), "the link goes when the simulator stops"
