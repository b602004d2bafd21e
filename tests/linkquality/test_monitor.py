"""When the kiosk measures on its own: not in its first minute, not twice in 15 minutes — sooner
after a «отложенная» result — and at once when asked («Проверить связь»)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from node.identity import NodeIdentity
from node.link_monitor import monitor as monitor_module
from node.link_monitor.measure import LinkQuality, load_latest
from node.link_monitor.monitor import LinkMonitor
from sync.client import SyncStatus
from sync.request_signing import NodeKey
from sync.session import CentralSession, no_link
from tests.helpers.timing import wait_until

#: The moment the due-tests look from (a measurement's age is counted to it, not to the wall clock).
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def kiosk(tmp_path: Path) -> NodeIdentity:
    """A kiosk whose central (127.0.0.1:9) never answers."""
    identity = NodeIdentity("kiosk-monitor", "post-1", "http://127.0.0.1:9", tmp_path)
    NodeKey.generate().save(identity.key_path)
    identity.save()
    return identity


def measured(minutes_ago: float, rtt: float | None) -> LinkQuality:
    at = NOW - timedelta(minutes=minutes_ago)
    return LinkQuality(rtt, 2000 if rtt else None, 900 if rtt else None, 0.5 if rtt else None, at)


def test_a_measurement_is_due_every_interval_and_sooner_after_deferred(tmp_path: Path) -> None:
    monitor = LinkMonitor(kiosk(tmp_path), interval=900, now=lambda: NOW)
    assert monitor.due()  # never measured
    monitor.latest = measured(2, rtt=90)
    assert not monitor.due()
    monitor.latest = measured(16, rtt=90)
    assert monitor.due()
    monitor.latest = measured(0.5, rtt=None)  # «отложенная»: the link may come back any time
    assert not monitor.due()
    monitor.latest = measured(2, rtt=None)
    assert monitor.due()


def test_the_first_minute_is_left_to_the_kiosk_but_a_request_is_served_at_once(tmp_path: Path) -> None:
    monitor = LinkMonitor(kiosk(tmp_path), first_delay=60, budget_s=1.0)
    monitor.after_round(SyncStatus(state="idle"))  # the first sync round ends
    assert monitor._wake.is_set(), "a measurement is due: the round wakes the monitor"
    monitor.start()
    try:
        # The monitor's thread takes the wake, and within its first minute goes back to waiting.
        wait_until(lambda: not monitor._wake.is_set(), "the monitor to take the wake")
        assert not monitor.measuring and monitor.latest is None and load_latest(tmp_path) is None
        monitor.wake()  # «Проверить связь»
        wait_until(lambda: monitor.latest, "the requested measurement")
        assert monitor.latest is not None and monitor.mode == "deferred"
        assert load_latest(tmp_path) == monitor.latest
    finally:
        monitor.stop()


def test_a_kiosk_whose_key_is_still_sealed_gets_its_monitor_and_opens_the_session_when_measuring(
    tmp_path: Path,
) -> None:
    identity = NodeIdentity("kiosk-sealed", "post-1", "http://127.0.0.1:9", tmp_path)
    identity.save()  # no node.key to open (a sealed one needs the data key first)
    opened: list[int] = []

    def session() -> CentralSession:
        opened.append(1)
        return identity.session()

    monitor = LinkMonitor(identity, budget_s=1.0, session=session)
    assert opened == [] and monitor.due()
    NodeKey.generate().save(identity.key_path)  # the kiosk's data key is open now
    quality = monitor.measure_now()
    assert opened == [1] and quality.rtt_ms is None  # central at 127.0.0.1:9 never answers
    monitor.measure_now()
    assert opened == [1], "one session, kept"


class _FlakyCentral(CentralSession):
    """Central as a lossy link shows it: the first `losses` reports never get an answer."""

    def __init__(self, losses: int) -> None:
        super().__init__("http://127.0.0.1:9", "kiosk-monitor", NodeKey.generate())
        self.losses = losses
        self.sent: list[tuple[str, float | None, dict[str, str]]] = []

    def send(self, method, path, body=b"", *, headers=None, key=None, timeout=None):  # type: ignore[no-untyped-def]
        signed = self.sign(method, path, body)
        self.sent.append((path, timeout, signed))
        if len(self.sent) <= self.losses:
            raise no_link(TimeoutError("read timed out"))
        answer = requests.Response()
        answer.status_code = 200
        return answer


def test_a_report_lost_on_the_way_is_sent_again(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(monitor_module, "PUSH_PAUSE_S", 0.0)
    central = _FlakyCentral(losses=2)
    monitor = LinkMonitor(kiosk(tmp_path), session=lambda: central, now=lambda: NOW)
    assert monitor.push(measured(0, rtt=90)) is True
    assert [timeout for _, timeout, _ in central.sent] == list(monitor_module.PUSH_TIMEOUTS_S)
    assert len({signed["X-Faplink-Nonce"] for _, _, signed in central.sent}) == 3  # signed afresh each time
    # Lost every time: the kiosk gives up after its attempts (the next measurement will try again).
    given_up = _FlakyCentral(losses=10)
    monitor = LinkMonitor(kiosk(tmp_path / "other"), session=lambda: given_up, now=lambda: NOW)
    assert monitor.push(measured(0, rtt=90)) is False
    assert len(given_up.sent) == len(monitor_module.PUSH_TIMEOUTS_S)
