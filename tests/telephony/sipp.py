"""Real SIP phones for the telephony tests: `sipp` processes playing the scenarios beside this file.

Each phone writes its message trace (-trace_msg); `Phone.messages()` reads it
back as what the phone received and sent, so the tests can look at the very
datagrams the gateway exchanged with it.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SCENARIOS = Path(__file__).parent / "scenarios"

#: The centre's caller ID and the consultant's own number, as the scenarios check them.
CENTRE_NUMBER = "+74822000000"
CONSULTANT_NUMBER = "+79161234567"


def sipp_path() -> str:
    found = shutil.which("sipp")
    assert found, "sipp is missing: install the Debian package sip-tester (make system-deps)"
    return found


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Message:
    """One SIP message in a phone's trace, as the phone saw it."""

    direction: str  # "received" or "sent"
    text: str

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0].strip()

    @property
    def method(self) -> str:
        """The request's method, or the response's status code as text."""
        parts = self.first_line.split(" ")
        return parts[1] if self.first_line.startswith("SIP/2.0") else parts[0]

    def header(self, name: str) -> str:
        match = re.search(rf"^{re.escape(name)}\s*:\s*(.*)$", self.head, re.IGNORECASE | re.MULTILINE)
        return match.group(1).strip() if match else ""

    @property
    def head(self) -> str:
        return re.split(r"\r?\n\r?\n", self.text, maxsplit=1)[0]

    @property
    def body(self) -> str:
        parts = re.split(r"\r?\n\r?\n", self.text, maxsplit=1)
        return parts[1].strip().replace("\r\n", "\n") if len(parts) > 1 else ""


class Phone:
    """A sipp process answering calls on a free UDP port with one scenario."""

    def __init__(self, scenario: str, workdir: Path, name: str) -> None:
        self.name = name
        self.port = free_udp_port()
        self.trace = workdir / f"{name}_messages.log"
        self.errors = workdir / f"{name}_errors.log"
        self.stderr = workdir / f"{name}_stderr.log"
        stderr = self.stderr.open("wb")  # a file, not a pipe: sipp must never block on it
        self.process = subprocess.Popen(
            [
                sipp_path(),
                "-sf",
                str(SCENARIOS / scenario),
                "-i",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-m",
                "1",
                "-timeout",
                "20s",
                "-timeout_error",
                "-nostdin",
                "-trace_msg",
                "-message_file",
                str(self.trace),
                "-trace_err",
                "-error_file",
                str(self.errors),
                "-cp",
                str(free_tcp_port()),
                "-mp",
                str(free_udp_port()),
            ],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        stderr.close()  # sipp has its own copy

    def wait_ready(self, timeout: float = 30) -> Phone:
        """Wait until sipp listens (a datagram sent before would meet a closed port)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"sipp ({self.name}) exited: {self.problems()}")
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    probe.bind(("127.0.0.1", self.port))
                except OSError:
                    return self  # taken: sipp has it
            time.sleep(0.02)
        raise AssertionError(f"sipp ({self.name}) did not start listening")

    @property
    def uri(self) -> str:
        """The phone's SIP address with the consultant's number: a desk phone reached directly."""
        return f"sip:{CONSULTANT_NUMBER}@127.0.0.1:{self.port}"

    def finish(self, timeout: float = 60) -> int:
        """Wait for sipp to end its one call; its exit code (0: the scenario passed every check)."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"sipp ({self.name}) did not finish: {self.problems()}") from None

    def problems(self) -> str:
        stderr = self.stderr.read_text(errors="replace") if self.stderr.exists() else ""
        logged = self.errors.read_text(errors="replace") if self.errors.exists() else ""
        return (stderr + logged).strip()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def messages(self) -> list[Message]:
        text = self.trace.read_text(errors="replace") if self.trace.exists() else ""
        out = []
        for block in re.split(r"^-{20,} .*$", text, flags=re.MULTILINE):
            match = re.match(r"\s*UDP message (received|sent)[^\n]*:\s*\n+(.*)", block, re.DOTALL)
            if match:
                out.append(Message(match.group(1), match.group(2).strip("\n")))
        return out

    def received(self, method: str) -> list[Message]:
        return [m for m in self.messages() if m.direction == "received" and m.method == method]

    def sent(self, method: str) -> list[Message]:
        return [m for m in self.messages() if m.direction == "sent" and m.method == method]
