"""In chromium with fake media devices: the feldsher checks the kiosk's equipment; the engineer sees it.

Real central and node processes; chromium's fake camera and microphone stand in
for the kiosk's; the loopback call runs in the node's child process on FFmpeg's
test picture (this machine has no camera).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import chromium, sign_in
from tests.helpers.cluster import Cluster, eventually, login_works
from tests.helpers.timing import wait_until


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path, sync_interval=3600)
    yield cluster
    cluster.stop_all()


def test_the_feldsher_checks_the_equipment_and_the_engineer_sees_it_at_central(cluster: Cluster) -> None:
    cluster.start_central()
    cluster.start_post(0)
    post = cluster.post_url(0)
    eventually(lambda: login_works(post, "fap1"), what="the first sync")

    with chromium() as browser:
        kiosk = browser.new_context(locale="ru-RU").new_page()
        sign_in(kiosk, post, "fap1")
        kiosk.locator("summary").click()  # the user menu
        kiosk.get_by_role("link", name="Настройки").click()
        kiosk.get_by_role("link", name="Проверить оборудование").click()
        expect(kiosk.get_by_role("heading", name="Проверка оборудования", exact=True)).to_be_visible()
        # No camera and no sound card on this machine: the page says so, and what to do.
        expect(kiosk.locator("#camera-devices")).to_contain_text("Камера не найдена")
        expect(kiosk.locator("#camera-devices")).to_contain_text("Подключите веб-камеру")

        # Camera preview: the picture the browser really gets, against 1280×720.
        kiosk.get_by_role("button", name="Включить камеру").click()
        expect(kiosk.locator("#camera-figures")).to_contain_text("Разрешение: 1280×720", timeout=20_000)
        assert float(kiosk.locator("#camera-figures").get_attribute("data-fps") or 0) >= 15
        expect(kiosk.locator("#camera-result")).to_contain_text("норма")
        # The camera's own line follows what the browser saw: no «Камера не найдена» beside it.
        expect(kiosk.locator("#camera-devices")).to_contain_text("камера работает в браузере")
        expect(kiosk.locator("#camera-devices")).not_to_contain_text("Камера не найдена")
        expect(kiosk.locator("#camera-figures")).to_contain_text(re.compile(r"кадров в секунду: \d+(,\d)?$"))

        # Microphone: the level meter moves with chromium's fake input (a beep).
        kiosk.get_by_role("button", name="Проверить микрофон").click()
        levels: set[float] = set()

        def meter_moves() -> bool:
            level = kiosk.locator("#mic-meter").get_attribute("data-level")
            if level:
                levels.add(float(level))
            return len(levels) >= 3 and max(levels) > 0.05

        wait_until(meter_moves, "the level meter to move with the microphone", interval=0.1)
        expect(kiosk.locator("#mic-result")).to_contain_text("наибольший уровень", timeout=15_000)
        expect(kiosk.locator("#mic-result")).to_contain_text("норма")

        # Speakers: a test tone, and the feldsher's answer.
        kiosk.get_by_role("button", name="Воспроизвести проверочный звук").click()
        kiosk.get_by_role("button", name="Слышу", exact=True).click()
        expect(kiosk.locator("#speaker-result")).to_contain_text("Фельдшер слышит проверочный звук")

        # The loopback call, in the node's child process.
        kiosk.get_by_role("button", name="Начать пробный звонок").click()
        loopback = kiosk.locator("#loopback-result")
        expect(loopback).to_contain_text("Получено кадров", timeout=60_000)
        expect(loopback).to_contain_text("1280×720")
        frames = re.search(r"Получено кадров: (\d+) из (\d+)", loopback.inner_text())
        assert frames is not None and 0 < int(frames[1]) <= int(frames[2])

        # The link to central.
        kiosk.get_by_role("button", name="Проверить связь").click()
        expect(kiosk.locator("#link-result")).to_contain_text("Задержка", timeout=30_000)
        expect(kiosk.locator("#link-result")).to_contain_text("консультация: видео")

        kiosk.get_by_role("button", name="Сохранить результат").click()
        expect(kiosk.locator("#latest-summary")).to_contain_text("Результат сохранён")
        kiosk.reload()
        expect(kiosk.locator("#latest-summary")).to_contain_text("Последняя проверка:")
        expect(kiosk.locator("#latest-checks tr[data-check=loopback]")).to_contain_text("Получено кадров")
        expect(kiosk.locator("#latest-checks tr[data-check=camera_preview]")).to_contain_text("1280×720")

        stored = json.loads((Path(cluster.plan["posts"][0]["dir"]) / "devicecheck.json").read_text())  # type: ignore[index]
        by_name = {c["name"]: c for c in stored["checks"]}
        assert by_name["speaker_test"]["figures"] == {"heard": True}
        assert by_name["loopback"]["figures"]["frames_received"] == int(frames[1])
        assert by_name["microphone_level"]["figures"]["peak"] > 0.05

        # The next sync round carries it to central's fleet page.
        engineer = browser.new_context(locale="ru-RU").new_page()
        sign_in(engineer, cluster.central_url, "admin")
        engineer.goto(f"{cluster.central_url}/fleet/")
        row = engineer.get_by_role("row").filter(has_text="demo-post-1")

        def reported() -> bool:
            engineer.reload()
            return row.get_by_text("Оборудование:").count() > 0

        eventually(reported, what="the device check on the fleet page")
        row.get_by_text("Оборудование:").click()
        check = row.locator("details.device-check")
        expect(check).to_contain_text("Пробный видеозвонок")
        expect(check).to_contain_text(f"Получено кадров: {frames[1]} из {frames[2]}")
        expect(check).to_contain_text("камера работает в браузере")
        expect(check).not_to_contain_text("Камера не найдена")
        expect(check).to_contain_text("Фельдшер слышит проверочный звук")
