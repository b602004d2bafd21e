"""The equipment check names what the post really has: the medical devices the node reads (not an
empty /dev/ttyS0), in Russian, and no «Камера не найдена» beside a picture the browser got."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path
from typing import Any

import pytest

from hardware.simulators import create
from node.devicecheck import checks
from node.exams.devices import start_devices
from tests.helpers.web import login

#: A motherboard's serial port with nothing on it, as pyserial lists it.
EMPTY_UART = {"device": "/dev/ttyS0", "description": "ttyS0", "usb_id": "", "serial_number": "", "hint": ""}


def _link(label: str, protocol: str, state: str) -> dict[str, Any]:
    return {"port": label, "protocol": protocol, "state": state, "detail": "", "counts": {}}


def test_the_medical_devices_are_the_ones_the_post_reads_not_an_empty_port() -> None:
    working = [
        _link("Пульсоксиметр Contec CMS50D+", "cms50", "connected"),
        _link("Тонометр Beurer BM65", "bm65", "download_complete"),
        _link("Весы Mettler-Toledo", "mtsics", "identified"),
    ]
    found = checks.serial_finding(working, [EMPTY_UART])
    assert found.status == "ok"
    assert found.text() == (
        "Пульсоксиметр Contec CMS50D+ (cms50), Тонометр Beurer BM65 (bm65), Весы Mettler-Toledo (mtsics)"
    )

    silent = checks.serial_finding([*working[:2], _link("Весы Mettler-Toledo", "mtsics", "not_answering")])
    assert silent.status == "warn"
    assert "не отвечают: Весы Mettler-Toledo (mtsics)" in silent.text()
    assert "Включите прибор и проверьте его кабель" in silent.text()

    nothing = checks.serial_finding([], [EMPTY_UART])
    assert nothing.status == "warn" and nothing.text().startswith("Медицинские приборы не подключены")
    # A known USB adapter nobody reads yet is a device on its way.
    adapter = {**EMPTY_UART, "device": "/dev/ttyUSB0", "hint": "cms50"}
    assert checks.serial_finding([], [EMPTY_UART, adapter]).text() == "/dev/ttyUSB0 (cms50)"


@pytest.fixture
def kiosk(node_app):  # type: ignore[no-untyped-def]
    app, _data = node_app
    client = app.test_client()
    client.environ_base["HTTP_X_CSRF_TOKEN"] = login(client, "fap1")
    return app, client


def test_the_settings_and_the_check_list_the_working_devices_in_russian(kiosk) -> None:  # type: ignore[no-untyped-def]
    app, client = kiosk
    oximeter, cuff = create("cms50"), create("bm65")
    ports = [
        {"port": oximeter.start(), "protocol": "cms50", "label": "Пульсоксиметр"},
        {"port": cuff.start(), "protocol": "bm65", "label": "Тонометр"},
    ]
    app.config.update(DEVICE_PORTS=ports, DEVICE_SCAN=False)
    feed = start_devices(app)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            states = {link["port"]: link["state"] for link in feed.links()}
            if states.get("Тонометр") == "download_complete" and "Пульсоксиметр" in states:
                break
            time.sleep(0.2)
        assert states.get("Тонометр") == "download_complete", states

        page = html.unescape(client.get("/settings").get_data(as_text=True))
        devices = re.search(r'<section class="card" id="devices">(.*?)</section>', page, re.S)
        assert devices is not None
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", devices.group(1)))
        assert "Тонометр · bm65 · данные получены записей в памяти прибора: 5, новых: 5" in text
        assert re.search(r"Пульсоксиметр · cms50\S* · (порт открыт|прибор найден)", text), text
        assert "stored" not in text and " new" not in text  # the driver's own words stay in its log

        quick = {f["name"]: f for f in client.get("/api/v1/device-check").get_json()["now"]}
        assert quick["serial_ports"]["status"] == "ok"
        assert re.fullmatch(r"Пульсоксиметр \(cms50\S*\), Тонометр \(bm65\)", quick["serial_ports"]["detail"])
    finally:
        assert feed.hub is not None
        feed.hub.stop()
        oximeter.stop()
        cuff.stop()


def test_a_camera_the_browser_saw_is_not_reported_missing(kiosk) -> None:  # type: ignore[no-untyped-def]
    _app, client = kiosk
    before = html.unescape(client.get("/settings/device-check").get_data(as_text=True))
    assert "Камера не найдена" in before  # no camera in /sys on this machine

    preview = {"width": 1280, "height": 720, "fps": 29.5, "label": "fake_device_0"}
    judged = client.post("/api/v1/device-check/judge", json={"camera_preview": preview}).get_json()
    assert judged["checks"][0]["status"] == "ok" and "1280×720" in judged["checks"][0]["detail"]
    camera = judged["devices"]["camera"]
    assert camera["status"] == "ok" and camera["status_text"] == "норма"
    assert camera["detail"] == "fake_device_0: камера работает в браузере" and not camera["advice"]

    # A preview that failed proves nothing: the missing camera stays missing.
    failed = client.post("/api/v1/device-check/judge", json={"camera_preview": {"error": "NotFoundError"}})
    assert failed.get_json()["devices"]["camera"]["detail"] == "Камера не найдена"


def test_numbers_in_a_finding_have_a_decimal_comma(kiosk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _app, client = kiosk
    quick = {f["name"]: f for f in client.get("/api/v1/device-check").get_json()["now"]}
    assert re.fullmatch(r"Свободно \d+(,\d)? ГБ", quick["disk"]["detail"]), quick["disk"]["detail"]
