"""«Настройки» for the consultant in Debian chromium with fake media devices: the camera's
picture, the microphone's level, the speaker test and the link to central, as the manual
asks before a consultation."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.helpers.browser import choose_in_menu, open_central_as


def test_the_consultant_checks_the_link_camera_microphone_and_speakers(
    browser: Browser,
    central: str,
) -> None:
    page = open_central_as(browser, central, "ivanova")
    choose_in_menu(page, "Настройки")
    expect(page.get_by_role("heading", name="Настройки", level=1)).to_be_visible()

    # The link is checked on arrival: the live connection, the round trip, both directions.
    expect(page.locator("#live-state")).to_have_attribute("data-state", "connected", timeout=15_000)
    expect(page.locator("#live-state")).to_have_text("установлено")
    expect(page.locator("#live-state")).to_have_attribute("data-transport", "websocket")
    link = page.locator("#link-result")
    expect(link).to_have_attribute("data-status", "ok", timeout=30_000)
    expect(link).to_contain_text("норма")
    expect(link).to_contain_text("Задержка")
    expect(link).to_contain_text("Мбит/с")

    # Camera: chromium's fake camera gives the HD picture the manual asks for.
    page.get_by_role("button", name="Проверить камеру").click()
    camera = page.locator("#camera-result")
    expect(camera).to_have_attribute("data-status", "ok", timeout=20_000)
    expect(camera).to_contain_text("1280×720")
    expect(page.locator("#camera-figures")).to_contain_text("Разрешение: 1280×720")
    expect(page.locator("#camera-figures")).not_to_contain_text(".")  # «29,9», not «29.9»
    assert page.locator("#camera-video").evaluate("video => video.videoWidth") == 1280

    # Microphone: the meter moves with the fake input's beeps, then the verdict.
    page.get_by_role("button", name="Проверить микрофон").click()
    loud = re.compile(r"^(0\.(0[3-9]|[1-9])\d*|1\.0+)$")  # above 3 %: the meter moves
    expect(page.locator("#mic-meter")).to_have_attribute("data-level", loud, timeout=10_000)
    microphone = page.locator("#mic-result")
    expect(microphone).to_have_attribute("data-status", "ok", timeout=15_000)
    expect(microphone).to_contain_text("наибольший уровень")

    # Speakers: the consultant says whether the tone was heard; «Не слышу» says what to do.
    expect(page.get_by_role("button", name="Слышу", exact=True)).to_be_hidden()
    page.get_by_role("button", name="Воспроизвести проверочный звук").click()
    page.get_by_role("button", name="Не слышу").click()
    speakers = page.locator("#speaker-result")
    expect(speakers).to_contain_text("Проверочный звук не слышен")
    expect(speakers).to_contain_text("прибавьте громкость")
    page.get_by_role("button", name="Слышу", exact=True).click()
    expect(speakers).to_have_attribute("data-status", "ok")
    expect(speakers).to_contain_text("Проверочный звук слышен")


def test_the_appeal_page_leads_to_the_sound_and_video_check(
    browser: Browser,
    central: str,
    central_app,  # type: ignore[no-untyped-def]
) -> None:
    from domain.models import Staff
    from tests.helpers.appeals import new_appeal

    _, data = central_app
    appeal = new_appeal(data)
    appeal.take_in_work(Staff.get_by_id(data.consultants["ivanova"]))
    page = open_central_as(browser, central, "ivanova")
    page.goto(f"{central}/appeals/{appeal.id}")
    page.get_by_role("link", name="Проверить звук и видео").click()
    expect(page.get_by_role("heading", name="Настройки", level=1)).to_be_visible()
