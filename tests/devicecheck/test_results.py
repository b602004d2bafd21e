"""The feldsher saves a device check at the kiosk; bad input stores nothing; central's fleet page shows it."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest

from domain.models import Role, Staff, StaffCredential
from node.devicecheck import checks, results
from node.devicecheck.loopback import LoopbackResult
from provisioning.layout import NodeDir
from provisioning.report import build_report
from sync.request_signing import NodeKey, signed_headers
from sync.server import register_node
from sync.wire import encode
from tests.helpers.web import login
from web.auth import hash_password

CAMERA: dict[str, Any] = {"width": 1280, "height": 720, "fps": 29.5, "label": "fake_device_0"}
GOOD: dict[str, Any] = {
    "camera_preview": CAMERA,
    "microphone_level": {"peak": 0.42, "label": "Fake Default Audio Input"},
    "speaker_test": {"heard": True},
}


@pytest.fixture
def kiosk(node_app):  # type: ignore[no-untyped-def]
    app, _data = node_app
    client = app.test_client()
    csrf = login(client, "fap1")
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf
    return client, Path(app.config["DATA_DIR"])


def _stored(data_dir: Path) -> tuple[bool, bool]:
    return (data_dir / results.LATEST).exists(), (data_dir / results.HISTORY).exists()


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ([1, 2], None, "Ожидался JSON-объект"),
        ({}, None, "Нет результатов проверки"),
        ({"camera_preview": None, "speaker_test": None}, None, "Нет результатов проверки"),
        ({**GOOD, "verdict": "ok"}, "verdict", "Неизвестное поле «verdict»"),
        ({"camera_preview": {**CAMERA, "width": "1"}}, "camera_preview.width", "числом от 1"),
        ({"camera_preview": {**CAMERA, "width": True}}, "camera_preview.width", "числом"),
        ({"camera_preview": {**CAMERA, "width": 1280.5}}, "camera_preview.width", "числом"),
        ({"camera_preview": {**CAMERA, "fps": -3}}, "camera_preview.fps", "от 0 до 240"),
        ({"camera_preview": {**CAMERA, "status": "ok"}}, "camera_preview.status", "Неизвестное"),
        ({"camera_preview": "1280x720"}, "camera_preview", "должно быть объектом"),
        ({"camera_preview": {"error": ""}}, "camera_preview.error", "непустой строкой"),
        ({"camera_preview": {"error": "x" * 301}}, "camera_preview.error", "длиннее 300"),
        ({"microphone_level": {"peak": 2, "label": "mic"}}, "microphone_level.peak", "от 0 до 1"),
        ({"microphone_level": {"peak": float("nan")}}, "microphone_level.peak", "от 0 до 1"),  # sent as NaN
        ({"speaker_test": {"heard": "yes"}}, "speaker_test.heard", "true или false"),
        ({**GOOD, "speaker_test": {}}, "speaker_test.heard", "true или false"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_is_stored(kiosk, body, field, says) -> None:  # type: ignore[no-untyped-def]
    client, data_dir = kiosk
    raw = json.dumps(body)  # Python writes NaN as NaN, which Flask's parser reads back
    response = client.post("/api/v1/device-check/results", data=raw, content_type="application/json")
    assert response.status_code == 400, response.get_json()
    answer = response.get_json()
    assert says in answer["message"]
    assert answer.get("field") == field
    assert _stored(data_dir) == (False, False)


def test_a_saved_check_keeps_the_latest_and_the_history_and_bad_input_later_changes_neither(kiosk) -> None:  # type: ignore[no-untyped-def]
    client, data_dir = kiosk
    response = client.post("/api/v1/device-check/results", json=GOOD)
    assert response.status_code == 201, response.get_json()
    saved = response.get_json()
    shown = {c["name"]: c for c in saved["checks"]}
    assert shown["camera_preview"]["status"] == "ok"
    assert shown["camera_preview"]["detail"] == "fake_device_0: 1280×720, 30 кадр/с"
    # No camera in /sys here, but the browser got a picture from one: the camera is there, and
    # «Камера не найдена» does not stand beside «норма 1280×720».
    assert shown["camera"]["status"] == "ok" and not shown["camera"]["advice"]
    assert shown["camera"]["detail"] == "fake_device_0: камера работает в браузере"
    assert shown["microphone"]["status"] == shown["speakers"]["status"] == "ok"
    assert shown["loopback"]["status"] == shown["link"]["status"] == "skip"  # not run in this session
    assert {"serial_ports", "disk", "clock", "speaker_test", "microphone_level"} <= set(shown)
    assert saved["ok"] is True and saved["by"]

    stored = json.loads((data_dir / results.LATEST).read_text())
    assert stored["at"] == saved["at"]
    assert {c["name"]: c["figures"] for c in stored["checks"]}["camera_preview"]["width"] == 1280

    again = client.post("/api/v1/device-check/results", json={"speaker_test": {"heard": False}})
    assert again.status_code == 201 and again.get_json()["ok"] is False
    refused = client.post("/api/v1/device-check/results", json={"speaker_test": {"heard": 1}})
    assert refused.status_code == 400
    assert results.latest_result(data_dir)["at"] == again.get_json()["at"]  # type: ignore[index]
    assert [r["ok"] for r in results.history(data_dir)] == [False, True]

    page = html.unescape(client.get("/settings/device-check").get_data(as_text=True))
    assert "Последняя проверка:" in page and "не пройдена" in page
    assert "Фельдшер не слышит проверочный звук" in page and "Прежние проверки" in page


def test_the_settings_page_leads_to_the_check_and_judging_stores_nothing(kiosk) -> None:  # type: ignore[no-untyped-def]
    client, data_dir = kiosk
    settings = client.get("/settings").get_data(as_text=True)
    assert 'href="/settings/device-check"' in settings
    page = html.unescape(client.get("/settings/device-check").get_data(as_text=True))
    assert "Камера не найдена" in page and "Подключите веб-камеру к USB-разъёму киоска" in page
    assert "Полная проверка ещё не сохранялась." in page
    judged = client.post(
        "/api/v1/device-check/judge", json={"camera_preview": {"width": 640, "height": 480, "fps": 30}}
    )
    assert judged.status_code == 200
    (verdict,) = judged.get_json()["checks"]
    assert verdict["status"] == "fail" and "1280×720" in verdict["advice"]
    assert _stored(data_dir) == (False, False)
    too_long = client.post("/api/v1/device-check/loopback", json={"seconds": 100})
    assert too_long.status_code == 400 and "от 2 до 15 секунд" in too_long.get_json()["message"]


def test_the_device_check_api_needs_a_logged_in_feldsher(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client = app.test_client()
    assert client.get("/api/v1/device-check").status_code == 401
    assert client.get("/settings/device-check").status_code == 302
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert all("post" in paths[f"/api/v1/device-check/{p}"] for p in ("results", "loopback", "link", "judge"))


def test_the_loopback_from_the_page_is_part_of_the_saved_result(kiosk) -> None:  # type: ignore[no-untyped-def]
    client, data_dir = kiosk
    response = client.post("/api/v1/device-check/loopback", json={"seconds": 2})
    assert response.status_code == 200, response.get_json()
    call = response.get_json()
    assert call["figures"]["frames_received"] > 0 and call["figures"]["width"] == 1280
    assert call["detail"].startswith("Получено кадров:")
    saved = client.post("/api/v1/device-check/results", json=GOOD).get_json()
    loopback = {c["name"]: c for c in saved["checks"]}["loopback"]
    assert loopback["figures"]["frames_received"] == call["figures"]["frames_received"]
    # The health report carries the stored result to central.
    report = build_report(NodeDir(data_dir), {})
    assert report["device_check"]["at"] == saved["at"]


# -- central's fleet page -------------------------------------------------------------------


def _engineer(centre_id: str) -> None:
    engineer = Staff.create(
        last_name="Сергеев", first_name="Олег", role=Role.ENGINEER, organization=centre_id
    )
    StaffCredential.create(staff=engineer, login="inzhener", password_hash=hash_password("demo1234"))


def _signed_report(client, key: NodeKey, node: str, report: dict[str, Any]):  # type: ignore[no-untyped-def]
    body = encode(report)
    headers = signed_headers(key, node, "POST", "/sync/fleet/report", body) | {"Content-Encoding": "gzip"}
    return client.open("/sync/fleet/report", method="POST", data=body, headers=headers)


def test_the_fleet_page_shows_a_kiosks_device_check_with_what_to_do(central_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    _engineer(data.centre_id)
    key = NodeKey.generate()
    register_node("kiosk-dc-1", data.posts[0][0], key.public_hex)
    slow = LoopbackResult(seconds=3, frames_sent=27, frames_received=27, fps=9.0, width=1280, height=720)
    findings = [
        checks.camera_finding([]),
        checks.judge_preview({"width": 1280, "height": 720, "fps": 30.0, "label": "C270"}),
        checks.loopback_finding(result=slow),
    ]
    saved = results.save_result(tmp_path, findings, by="fap1")
    report = {"schema": 1, "state": "idle", "queues": {}, "device_check": results.latest_result(tmp_path)}
    client = app.test_client()
    assert _signed_report(client, key, "kiosk-dc-1", report).status_code == 200
    login(client, "inzhener")
    page = html.unescape(client.get("/fleet/").get_data(as_text=True))
    row = page[page.index('id="node-kiosk-dc-1"') :]
    row = row[: row.index("</tr>")]
    assert "Оборудование:" in row and "не пройдена" in row
    assert "Камера не найдена" in row and "Подключите веб-камеру" in row
    assert "Получено кадров: 27 из 27, 9 кадр/с" in row and "закройте другие программы" in row
    assert "Проверка оборудования не пройдена: Пробный видеозвонок" in row
    assert saved["ok"] is False


def test_a_garbled_device_check_from_a_kiosk_does_not_break_the_fleet_page(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    _engineer(data.centre_id)
    key = NodeKey.generate()
    register_node("kiosk-dc-2", data.posts[0][0], key.public_hex)
    garbled = {
        "at": "yesterday",
        "checks": [
            {"name": "x", "title": "%(oops)s", "status": "fail", "detail": "%(missing)s %", "params": [1]},
            "not a check",
        ],
    }
    client = app.test_client()
    assert _signed_report(client, key, "kiosk-dc-2", {"device_check": garbled}).status_code == 200
    login(client, "inzhener")
    response = client.get("/fleet/")
    assert response.status_code == 200
    assert "%(missing)s %" in html.unescape(response.get_data(as_text=True))
