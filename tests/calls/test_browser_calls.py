"""Real calls between the consultant's page (central) and the kiosk's page (its node), in Debian chromium.

Central and the post's node run as processes; the kiosk page talks only to its
node, which relays the signalling to central. The media are chromium's fake
camera and microphone; what each side receives is read from getStats().
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import sign_in
from tests.helpers.call_browser import call_browser, call_stats
from tests.helpers.cluster import ApiClient, Cluster, eventually, login_works

MEDIA_S = 30.0  # ICE and the first decoded frames take a second or two here; allow for a busy machine
LIVE_MS = 30_000  # a ceiling: live updates take well under a second on an idle machine


@dataclass
class Call:
    cluster: Cluster
    appeal: str
    consultant: Page
    kiosk: Page
    central_api: ApiClient
    kiosk_requests: list[str]

    def central_calls(self) -> list[dict[str, Any]]:
        """The appeal's call log in central's database, latest first."""
        response = self.central_api.get(f"/api/v1/appeals/{self.appeal}/calls")
        response.raise_for_status()
        return response.json()["calls"]  # type: ignore[no-any-return]

    def kiosk_rings(self, mode: str) -> set[str]:
        """The kiosk places a call («Видеозвонок» / «Аудиозвонок»), and it rings at the consultant's
        page; returns the calls central had logged before."""
        _ready(self.kiosk)
        before = {c["id"] for c in self.central_calls()}
        _button(self.kiosk, f"{mode}звонок").click()
        expect(self.consultant.locator("#call-panel")).to_contain_text(
            f"Входящий {mode.lower()}звонок", timeout=LIVE_MS
        )
        return before

    def new_call_at_central(self, before: set[str], what: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait for a call not among `before` to be in central's log (it may come by sync)."""

        def new_call() -> dict[str, Any] | None:
            return next((c for c in self.central_calls() if c["id"] not in before), None)

        return eventually(new_call, timeout=timeout, what=f"{what} to reach central's log")  # type: ignore[no-any-return]


def _login(page: Page, base: str, login: str) -> None:
    sign_in(page, base, login)
    expect(page.get_by_role("heading", name="Новые обращения", level=1)).to_be_visible()


def _appeal_in_work(cluster: Cluster, feldsher: ApiClient, ivanova: ApiClient) -> str:
    patient = feldsher.get("/api/v1/patients", params={"q": "8 915 111-22-33"}).json()["patients"][0]
    doctor = feldsher.get("/api/v1/consultants", params={"name": "Иванова"}).json()["consultants"][0]
    created = feldsher.post(
        "/api/v1/appeals",
        json={
            "patient": patient["id"],
            "consultant": doctor["id"],
            "form_of_care": "urgent",
            "question": "Одышка при ходьбе, отёки голеней к вечеру: покажу пациента по видео",
            "consent_by": "patient",  # the ИДС to the consultation
        },
    )
    assert created.status_code == 201, created.text
    appeal = str(created.json()["id"])
    feldsher.post("/api/v1/sync/now")
    eventually(lambda: ivanova.post(f"/api/v1/appeals/{appeal}/take").status_code == 200, what="take in work")
    eventually(
        lambda: feldsher.get(f"/api/v1/appeals/{appeal}").json()["status"] == "in_work",
        what="the post to learn the appeal is in work",
    )
    return appeal


@pytest.fixture(scope="module")
def call(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Call]:
    cluster = Cluster(tmp_path_factory.mktemp("calls"), sync_interval=30.0)
    try:
        cluster.start_central()
        cluster.start_post(0)
        post = cluster.post_url(0)
        eventually(lambda: login_works(post, "fap1"), what="the first sync")
        feldsher = ApiClient(post, "fap1")
        ivanova = ApiClient(cluster.central_url, "ivanova")
        appeal = _appeal_in_work(cluster, feldsher, ivanova)
        with call_browser() as browser:
            consultant = browser.new_context(locale="ru-RU").new_page()
            kiosk = browser.new_context(locale="ru-RU").new_page()
            requests: list[str] = []
            kiosk.on("request", lambda request: requests.append(request.url))
            _login(consultant, cluster.central_url, "ivanova")
            _login(kiosk, post, "fap1")
            consultant.goto(f"{cluster.central_url}/appeals/{appeal}")
            kiosk.goto(f"{post}/appeals/{appeal}")
            yield Call(cluster, appeal, consultant, kiosk, ivanova, requests)
    except Exception:
        print(cluster.logs())
        raise
    finally:
        cluster.stop_all()


def _button(page: Page, name: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("button", name=name, exact=True)


def _ready(page: Page) -> None:
    """The page has joined the appeal's calls: its call buttons are enabled."""
    expect(_button(page, "Видеозвонок")).to_be_enabled(timeout=LIVE_MS)
    expect(_button(page, "Аудиозвонок")).to_be_enabled()


def _receiving(page: Page, what: str) -> dict[str, Any]:
    key = "framesDecoded" if what == "video" else "audioPackets"
    return eventually(  # type: ignore[no-any-return]
        lambda: (s := call_stats(page)) and s[key] > 0 and s, timeout=MEDIA_S, what=f"{what} to arrive"
    )


def _talking(page: Page, packets: int) -> None:
    """Wait until the page has received `packets` audio packets in all (20 ms of sound each): the
    call has lasted at least that much sound, however slowly a busy machine runs."""
    eventually(
        lambda: (s := call_stats(page)) and s["audioPackets"] >= packets,
        timeout=MEDIA_S,
        what=f"{packets} audio packets",
    )


def _audio_without_video(page: Page, packets: int = 50) -> None:
    """Wait for a stretch of `packets` audio packets (a second of sound) in which not one video
    frame was decoded; frames already on their way when video stopped may still come first."""
    start = call_stats(page)

    def quiet_stretch() -> bool:
        nonlocal start
        now = call_stats(page)
        assert start is not None and now is not None, "the call ended"
        assert now["state"] == "connected", now
        if now["framesDecoded"] != start["framesDecoded"]:
            start = now  # a frame still came: count the stretch from here
            return False
        return bool(now["audioPackets"] >= start["audioPackets"] + packets)

    eventually(quiet_stretch, timeout=MEDIA_S, what="a second of audio with no video frame")


def _logged_talk_matches(duration_s: int, shortest: float, longest: float) -> None:
    """The log's talk time (whole seconds) lies within what the test saw of the talk."""
    assert shortest - 0.5 <= duration_s <= longest + 0.5, (duration_s, shortest, longest)


def test_a_video_call_from_the_consultant_both_see_each_other_then_video_drops_and_audio_stays(
    call: Call,
) -> None:
    consultant, kiosk = call.consultant, call.kiosk
    _ready(consultant)
    _ready(kiosk)

    _button(consultant, "Видеозвонок").click()
    panel = kiosk.locator("#call-panel")
    expect(panel).to_contain_text("Входящий видеозвонок", timeout=LIVE_MS)
    expect(panel).to_contain_text("Иванова")
    before_answer = time.monotonic()
    _button(kiosk, "Принять").click()

    # Both sides decode the other's camera.
    at_consultant = _receiving(consultant, "video")
    at_kiosk = _receiving(kiosk, "video")
    assert at_consultant["videoTracks"] == 2 and at_kiosk["videoTracks"] == 2
    for page in (consultant, kiosk):
        expect(page.locator("#call-panel")).to_contain_text("Идёт видеозвонок", timeout=LIVE_MS)
        expect(_button(page, "Завершить")).to_be_visible()
    answered = time.monotonic()  # central took the answer before the pages said so
    assert _button(consultant, "Видеозвонок").is_disabled(), "one call at a time"

    # Mute and camera off are the page's own tracks.
    _button(kiosk, "Выключить микрофон").click()
    expect(_button(kiosk, "Включить микрофон")).to_be_visible()
    assert kiosk.evaluate("window.faplinkCall.call.local.getAudioTracks()[0].enabled") is False
    _button(kiosk, "Включить микрофон").click()
    _button(consultant, "Выключить камеру").click()
    expect(_button(consultant, "Включить камеру")).to_be_visible()
    assert consultant.evaluate("window.faplinkCall.call.local.getVideoTracks()[0].enabled") is False
    _button(consultant, "Включить камеру").click()

    # The call watches its link: here it carries video easily, so video stays.
    sample = eventually(
        lambda: consultant.evaluate("window.faplinkCall.call && window.faplinkCall.call.lastSample"),
        what="a reading of the link",
    )
    assert sample["availableBps"] > 150_000, sample
    expect(consultant.locator(".call-notice")).to_be_hidden()

    # The consultant's link turns out too thin for video (the threshold is set above what it has):
    # video stops both ways, both are told, audio goes on.
    consultant.evaluate("window.faplinkCallTuning = {minVideoBps: 1e12, statsEveryMs: 300}")
    for page in (consultant, kiosk):
        expect(page.locator("#call-panel")).to_contain_text("Видео отключено: слабая связь", timeout=LIVE_MS)
    for page in (consultant, kiosk):
        _audio_without_video(page)

    before_hang_up = time.monotonic()
    _button(consultant, "Завершить").click()
    for page in (consultant, kiosk):
        expect(page.locator("#call-panel")).to_be_hidden(timeout=LIVE_MS)
    expect(kiosk.locator("#call-message")).to_have_text("Звонок завершён")
    hung_up = time.monotonic()

    # The consultant placed the call: central logged it, and both pages show it.
    logged = eventually(call.central_calls, what="the call log at central")[0]
    assert (logged["mode"], logged["outcome"], logged["caller"]["full_name"]) == (
        "video",
        "completed",
        "Иванова Мария Сергеевна",
    )
    _logged_talk_matches(logged["duration_s"], before_hang_up - answered, hung_up - before_answer)
    row = consultant.locator(f'[data-call-log="{logged["id"]}"]')
    expect(row).to_contain_text("Состоялся", timeout=LIVE_MS)
    expect(row).to_contain_text("Видео")
    expect(kiosk.locator(f'[data-call-log="{logged["id"]}"]')).to_contain_text("Состоялся", timeout=LIVE_MS)


def test_an_audio_call_from_the_kiosk_has_no_video_and_reaches_centrals_log(call: Call) -> None:
    consultant, kiosk = call.consultant, call.kiosk
    _ready(kiosk)
    _button(kiosk, "Аудиозвонок").click()
    panel = consultant.locator("#call-panel")
    expect(panel).to_contain_text("Входящий аудиозвонок", timeout=LIVE_MS)
    expect(panel).to_contain_text("ФАП")
    before_answer = time.monotonic()
    _button(consultant, "Принять").click()

    at_consultant = _receiving(consultant, "audio")
    at_kiosk = _receiving(kiosk, "audio")
    assert at_consultant["videoTracks"] == 0 and at_kiosk["videoTracks"] == 0
    assert at_consultant["framesDecoded"] == 0 and at_kiosk["framesDecoded"] == 0
    expect(_button(kiosk, "Выключить камеру")).to_be_hidden()
    expect(kiosk.locator("#call-panel")).to_contain_text("Идёт аудиозвонок", timeout=LIVE_MS)
    answered = time.monotonic()  # the kiosk's node took the answer before its page said so
    _talking(kiosk, 100)  # two seconds of sound
    before_hang_up = time.monotonic()
    _button(kiosk, "Завершить").click()
    expect(consultant.locator("#call-panel")).to_be_hidden(timeout=LIVE_MS)
    hung_up = time.monotonic()

    # The kiosk placed it: its node logged it, and the sync brings the row to central.
    def kiosk_call_at_central() -> dict[str, Any] | None:
        return next((c for c in call.central_calls() if c["mode"] == "audio"), None)

    logged = eventually(kiosk_call_at_central, what="the kiosk's call log to reach central")
    assert logged["outcome"] == "completed" and logged["duration_s"] >= 2
    _logged_talk_matches(logged["duration_s"], before_hang_up - answered, hung_up - before_answer)
    assert logged["caller"]["full_name"] != "Иванова Мария Сергеевна"
    expect(consultant.locator(f'[data-call-log="{logged["id"]}"]')).to_contain_text("Аудио", timeout=LIVE_MS)


def test_a_declined_call_is_logged_declined(call: Call) -> None:
    consultant, kiosk = call.consultant, call.kiosk
    before = call.kiosk_rings("Видео")
    _button(consultant, "Отклонить").click()
    expect(kiosk.locator("#call-message")).to_have_text("Звонок отклонён", timeout=LIVE_MS)
    expect(kiosk.locator("#call-panel")).to_be_hidden()
    expect(consultant.locator("#call-panel")).to_be_hidden()

    logged = call.new_call_at_central(before, "the declined call")
    assert (logged["mode"], logged["outcome"], logged["duration_s"]) == ("video", "declined", 0)
    expect(kiosk.locator(f'[data-call-log="{logged["id"]}"]')).to_contain_text("Отклонён", timeout=LIVE_MS)

    central_port = f":{call.cluster.port}/"
    assert call.kiosk_requests and not [u for u in call.kiosk_requests if central_port in u], (
        "the kiosk page must talk to its own node only"
    )


def test_central_going_down_mid_call_ends_it_on_both_sides_and_the_post_still_logs_it(call: Call) -> None:
    """Last in the module: central is killed in the middle of a call, then started again."""
    consultant, kiosk = call.consultant, call.kiosk
    before = call.kiosk_rings("Аудио")
    _button(consultant, "Принять").click()
    _talking(kiosk, 100)  # two seconds of sound

    call.cluster.stop_central(kill=True)
    # The kiosk's page talks to its node, which lost its link to central: the call ends there.
    expect(kiosk.locator("#call-message")).to_have_text("Связь прервалась: звонок завершён", timeout=LIVE_MS)
    expect(kiosk.locator("#call-panel")).to_be_hidden()
    expect(consultant.locator("#call-message")).to_have_text(
        "Связь с сервером прервалась: звонок завершён", timeout=LIVE_MS
    )
    expect(consultant.locator("#call-panel")).to_be_hidden()

    # The kiosk placed the call: its node logged it, and the row reaches central once it is back.
    call.cluster.start_central()

    logged = call.new_call_at_central(before, "the interrupted call", timeout=60)
    assert (logged["mode"], logged["outcome"]) == ("audio", "completed")
    assert logged["duration_s"] >= 2
