"""Central's clock is read as NTP reads it: the time central spends on a request does not count.

A kiosk's clock may be days wrong, and its edits are stamped with its clock plus the offset to
central's. Taken at the middle of the round trip, the offset was wrong by half of whatever
central spent on the request — hundreds of milliseconds on a busy centre, enough to put a
kiosk's later edit before central's earlier one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

import sync.session
from sync.request_signing import NodeKey
from sync.session import CentralSession, offset_from

CENTRAL = "http://central.test"
AHEAD_MS = 7 * 24 * 3600 * 1000  # central's clock minus the kiosk's


class Clock:
    """The kiosk's time.time(), moved by the fake central as the request travels."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now


class SlowCentral(BaseAdapter):
    """Answers a ping 30 ms after it was sent, spends `work_s` on it, answers 70 ms later."""

    def __init__(self, clock: Clock, work_s: float, *, tells_arrival: bool = True) -> None:
        super().__init__()
        self.clock, self.work_s, self.tells_arrival = clock, work_s, tells_arrival

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.clock.now += 0.030
        body: dict[str, Any] = {"ok": True}
        if self.tells_arrival:
            body["server_received_ms"] = int(self.clock.now * 1000) + AHEAD_MS
        self.clock.now += self.work_s
        body["server_time_ms"] = int(self.clock.now * 1000) + AHEAD_MS
        self.clock.now += 0.070
        response = requests.Response()
        response.status_code, response.url, response.request = 200, request.url or "", request
        response._content = json.dumps(body).encode()
        return response

    def close(self) -> None:
        pass


def _measure(monkeypatch: pytest.MonkeyPatch, work_s: float, *, tells_arrival: bool = True) -> int:
    clock = Clock()
    monkeypatch.setattr(sync.session, "time", clock)
    session = CentralSession(CENTRAL, "kiosk-1", NodeKey.generate(), timeout=2)
    session.http.mount(CENTRAL, SlowCentral(clock, work_s, tells_arrival=tells_arrival))
    return session.measure_clock()


@pytest.mark.parametrize("work_s", [0.0, 0.4, 3.0])
def test_the_time_central_spends_does_not_move_the_offset(
    monkeypatch: pytest.MonkeyPatch, work_s: float
) -> None:
    # Only the network's asymmetry is left: (70 − 30) / 2 = 20 ms, whatever central's work.
    assert _measure(monkeypatch, work_s) - AHEAD_MS == -20


def test_an_older_central_that_does_not_say_when_the_request_came_is_read_at_the_middle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its reading is taken as made at the middle of the round trip: off by half of its work.
    assert _measure(monkeypatch, 0.4, tells_arrival=False) - AHEAD_MS == -20 + 200


def test_the_formula() -> None:
    sent, answered_here = 1000.0, 1000.5  # our seconds
    received, answered = 1_000_050 + 5000, 1_000_450 + 5000  # central's ms, 5 s ahead of ours
    assert offset_from(answered, sent, answered_here, received) == 5000
    assert offset_from(answered, sent, answered_here) == 5200  # the middle: 200 ms off
    # A reading that contradicts itself (answered before it came) is read at the middle.
    assert offset_from(answered, sent, answered_here, answered + 1) == 5200
