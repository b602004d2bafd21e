"""The verdicts of «Настройки»: the manual's workplace requirements, and the JSON API's refusals."""

from __future__ import annotations

from central.settings import checks
from tests.helpers.appeals import login_page


def test_a_camera_below_hd_fails_and_a_dark_one_is_warned() -> None:
    low = checks.judge_camera({"width": 640, "height": 480, "fps": 30, "label": "USB"})
    assert low.status == checks.FAIL and "1280×720" in low.advice
    dark = checks.judge_camera({"width": 1280, "height": 720, "fps": 7.5, "label": "USB"})
    assert dark.status == checks.WARN and "света" in dark.advice
    good = checks.judge_camera({"width": 1920, "height": 1080, "fps": 30, "label": "USB"})
    assert good.status == checks.OK and not good.advice
    denied = checks.judge_camera({"error": "NotAllowedError: Permission denied"})
    assert denied.status == checks.FAIL and "Разрешите сайту доступ к камере" in denied.advice


def test_a_silent_microphone_and_an_unheard_tone_fail() -> None:
    assert checks.judge_microphone({"peak": 0.01, "label": "Headset"}).status == checks.FAIL
    assert checks.judge_microphone({"peak": 0.4, "label": "Headset"}).status == checks.OK
    assert checks.judge_speakers({"heard": False}).status == checks.FAIL
    assert checks.judge_speakers({"heard": True}).status == checks.OK


def test_the_link_needs_the_live_connection_and_the_manuals_10_mbits() -> None:
    fast = {"live": True, "rtt_ms": 40, "down_mbps": 50.0, "up_mbps": 20.0}
    assert checks.judge_link(fast).status == checks.OK
    assert checks.judge_link({**fast, "down_mbps": 4.2}).status == checks.WARN
    assert checks.judge_link({**fast, "up_mbps": 0.8}).status == checks.WARN
    assert checks.judge_link({**fast, "rtt_ms": 900}).status == checks.WARN
    dead = checks.judge_link({**fast, "live": False})
    assert dead.status == checks.FAIL and "WebSocket" in dead.advice
    assert checks.judge_link({"error": "TypeError: Failed to fetch"}).status == checks.FAIL


def test_the_api_gives_verdicts_in_the_users_words_and_refuses_what_cannot_be_measured(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client = app.test_client()
    token = login_page(client, "ivanova")
    headers = {"X-CSRF-Token": token}

    answer = client.post(
        "/api/v1/settings/checks",
        json={"link": {"live": True, "rtt_ms": 35, "down_mbps": 4.5, "up_mbps": 3}},
        headers=headers,
    )
    assert answer.status_code == 200
    (link,) = answer.get_json()["checks"]
    assert link["status"] == "warn" and link["status_text"] == "есть замечания"
    assert link["detail"] == "Задержка 35 мс, к вам 4,5 Мбит/с, от вас 3 Мбит/с"

    bad = client.post("/api/v1/settings/checks", json={"camera": {"width": "HD"}}, headers=headers)
    assert bad.status_code == 400 and bad.get_json()["message"] == "Значение «width» измерено неверно"
    unknown = client.post("/api/v1/settings/checks", json={"printer": {}}, headers=headers)
    assert unknown.status_code == 400 and "printer" in unknown.get_json()["message"]

    probe = client.get("/api/v1/settings/probe?kb=3")
    assert len(probe.data) == 3 * 1024 and probe.headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/settings/probe?kb=100000").status_code == 400
    sent = client.post("/api/v1/settings/probe", data=b"\x01" * 4096, headers=headers)
    assert sent.get_json() == {"received": 4096}


def test_the_field_engineer_has_no_consultants_settings(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client = app.test_client()
    login_page(client, "engineer")
    assert client.get("/settings").status_code == 403
