"""«Парк киосков» at central: kiosks' health and alerts, revoking, enrolment codes, bundles."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from datetime import timedelta
from typing import Any

import pytest

from domain.migrations import SCHEMA_VERSION
from domain.models import Role, Staff, StaffCredential
from enrolment.bundle import open_bundle
from enrolment.protocol import rotation_proof_message
from sync.clock import utcnow
from sync.errors import EnrolmentError
from sync.request_signing import NodeKey, signed_headers
from sync.server import enroll, enrolment_proof_message, register_node
from sync.state import KnownNode
from sync.wire import encode
from tests.helpers.web import login
from web.auth import hash_password

NODE = "kiosk-fleet-1"


@pytest.fixture
def fleet(central_app):  # type: ignore[no-untyped-def]
    """central with an engineer «inzhener» and one enrolled kiosk at post 1."""
    app, data = central_app
    engineer = Staff.create(
        last_name="Сергеев", first_name="Олег", role=Role.ENGINEER, organization=data.centre_id
    )
    StaffCredential.create(staff=engineer, login="inzhener", password_hash=hash_password("demo1234"))
    key = NodeKey.generate()
    register_node(NODE, data.posts[0][0], key.public_hex)
    client = app.test_client()
    csrf = login(client, "inzhener")
    return app, data, client, csrf, key


def _signed(client, key: NodeKey, method: str, path: str, payload: Any = None, node: str = NODE):  # type: ignore[no-untyped-def]
    body = encode(payload) if payload is not None else b""
    headers = signed_headers(key, node, method, path, body) | {"Content-Encoding": "gzip"}
    return client.open(path, method=method, data=body, headers=headers)


def _report(queued: int = 0, failing: bool = False, free: int = 50 * 2**30) -> dict[str, Any]:
    checks = [{"name": "disk", "title": "Свободное место на диске", "status": "ok", "detail": ""}]
    if failing:
        checks.append(
            {"name": "database", "title": "Целостность базы данных", "status": "fail", "detail": "повреждена"}
        )
    return {
        "software": "0.1.0",
        "schema": SCHEMA_VERSION,
        "state": "error" if queued else "idle",
        "last_success": utcnow().isoformat(),
        "last_error": "",
        "queues": {"records": queued, "blobs_up": 0},
        "clock_offset_ms": 1200,
        "free_disk_bytes": free,
        "self_test": {"at": utcnow().isoformat(), "ok": not failing, "checks": checks},
    }


def _page(client) -> str:  # type: ignore[no-untyped-def]
    response = client.get("/fleet/")
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_the_engineer_finds_the_fleet_in_the_menu_and_sees_each_kiosk(fleet) -> None:  # type: ignore[no-untyped-def]
    app, data, client, _csrf, key = fleet
    assert "Парк киосков" in client.get("/fleet/tokens").get_data(as_text=True)
    response = _signed(client, key, "POST", "/sync/fleet/report", _report())
    assert response.status_code == 200, response.get_json()
    page = _page(client)
    row = page[page.index(f'id="node-{NODE}"') :]
    row = row[: row.index("</tr>")]
    assert data.posts[0][1] in row  # the post's name
    assert "0.1.0" in row and "+1.2" in row and "пройдена" in row and "50.0 ГБ" in row
    assert "Предупреждение" not in row and "badge overdue" not in row
    assert '<td class="fleet-link">—</td>' in row  # no link measurement reported yet

    link = {
        "mode": "audio",
        "measured_at": utcnow().isoformat(),
        "rtt_ms": 420.0,
        "down_kbps": 180.4,
        "up_kbps": 95.6,
        "loss_pct": 2.0,
        "error": None,
    }
    assert _signed(client, key, "POST", "/sync/fleet/report", _report() | {"link": link}).status_code == 200
    page = _page(client)
    row = page[page.index(f'id="node-{NODE}"') :]
    row = row[: row.index("</tr>")]
    assert "только звук" in row and "180 / 96 кбит/с" in row


def test_a_consultant_may_not_open_the_fleet(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client = app.test_client()
    login(client, "ivanova")
    assert client.get("/fleet/").status_code == 403


def test_alerts_for_silence_a_growing_queue_a_failing_check_and_a_full_disk(fleet) -> None:  # type: ignore[no-untyped-def]
    app, _data, client, _csrf, key = fleet
    app.config["FLEET_QUEUE_MINUTES"] = 0
    for queued in (3, 10, 30):
        assert _signed(client, key, "POST", "/sync/fleet/report", _report(queued)).status_code == 200
    _signed(client, key, "POST", "/sync/fleet/report", _report(30, failing=True, free=300 * 2**20))
    KnownNode.update(last_seen=utcnow() - timedelta(hours=30)).where(KnownNode.node_id == NODE).execute()
    page = _page(client)
    assert "Не выходил на связь больше 24 ч" in page
    assert "Очередь растёт: 30 записей не отправлено" in page
    assert "Самопроверка не пройдена: Целостность базы данных" in page
    assert "Мало места на диске: 300 МБ" in page
    assert "требуют внимания: 1" in page


def test_a_queue_that_drains_raises_no_alert(fleet) -> None:  # type: ignore[no-untyped-def]
    app, _data, client, _csrf, key = fleet
    app.config["FLEET_QUEUE_MINUTES"] = 0
    for queued in (30, 10, 0):
        _signed(client, key, "POST", "/sync/fleet/report", _report(queued))
    assert "Очередь растёт" not in _page(client)


def test_revoking_a_kiosk_asks_first_then_refuses_its_sync(fleet) -> None:  # type: ignore[no-untyped-def]
    _app, _data, client, csrf, key = fleet
    confirm = client.get(f"/fleet/nodes/{NODE}/revoke").get_data(as_text=True)
    assert "Да, отозвать доступ" in confirm and "позвонить в поддержку" in confirm
    assert client.post(f"/fleet/nodes/{NODE}/revoke").status_code == 400  # no CSRF token
    assert not KnownNode.get_by_id(NODE).revoked
    response = client.post(f"/fleet/nodes/{NODE}/revoke", data={"csrf_token": csrf}, follow_redirects=True)
    assert f"Доступ киоска {NODE} отозван" in response.get_data(as_text=True)
    assert KnownNode.get_by_id(NODE).revoked
    hello = {"protocol": 1, "schema": SCHEMA_VERSION, "software": "test"}
    refused = _signed(client, key, "POST", "/sync/v1/hello", hello)
    assert (refused.status_code, refused.get_json()["error"]) == (401, "revoked")
    assert "позвоните в техническую поддержку" in refused.get_json()["message"]
    refused = _signed(client, key, "POST", "/sync/fleet/report", _report())
    assert refused.get_json()["error"] == "revoked"
    assert "Доступ отозван" in _page(client)


def _enrol(token: str, node_id: str) -> dict[str, Any]:
    key = NodeKey.generate()
    proof = base64.b64encode(key.sign(enrolment_proof_message(token, node_id))).decode()
    return enroll({"token": token, "node_id": node_id, "public_key": key.public_hex, "proof": proof})


def test_a_token_is_shown_once_listed_and_can_be_revoked(fleet) -> None:  # type: ignore[no-untyped-def]
    _app, data, client, csrf, _key = fleet
    post_id, post_name = data.posts[1]
    form = {"csrf_token": csrf, "organization": post_id, "hours": "48", "note": "киоск в медпункте"}
    issued = html.unescape(client.post("/fleet/tokens", data=form).get_data(as_text=True))
    assert "Код регистрации выпущен" in issued
    token = re.search(r'<code class="token">([^<]+)</code>', issued).group(1)  # type: ignore[union-attr]
    listing = html.unescape(client.get("/fleet/tokens").get_data(as_text=True))
    assert token not in listing  # central keeps only its hash
    assert post_name in listing and "киоск в медпункте" in listing and "действует" in listing

    second = html.unescape(client.post("/fleet/tokens", data=form).get_data(as_text=True))
    other = re.search(r'<code class="token">([^<]+)</code>', second).group(1)  # type: ignore[union-attr]
    token_hash = hashlib.sha256(other.encode()).hexdigest()
    client.post(f"/fleet/tokens/{token_hash}/revoke", data={"csrf_token": csrf})
    with pytest.raises(EnrolmentError, match="отозван"):
        _enrol(other, "kiosk-revoked-token")
    assert _enrol(token, "kiosk-good-token")["organization"] == post_id
    listing = html.unescape(client.get("/fleet/tokens").get_data(as_text=True))
    assert "использован: kiosk-good-token" in listing and "отозван" in listing


def test_a_token_for_nothing_or_for_too_long_is_refused_clearly(fleet) -> None:  # type: ignore[no-untyped-def]
    _app, data, client, csrf, _key = fleet
    bad_post = client.post("/fleet/tokens", data={"csrf_token": csrf, "organization": data.centre_id})
    assert bad_post.status_code == 400
    assert "Выберите ФАП" in bad_post.get_data(as_text=True)
    form = {"csrf_token": csrf, "organization": data.posts[0][0], "hours": "10000"}
    too_long = client.post("/fleet/tokens", data=form)
    assert too_long.status_code == 400 and "от 1 до 720" in too_long.get_data(as_text=True)


def test_fleet_routes_for_nodes_refuse_unsigned_requests_as_json(fleet) -> None:  # type: ignore[no-untyped-def]
    _app, _data, client, _csrf, _key = fleet
    response = client.post("/sync/fleet/report", data=encode(_report()), headers={"Content-Encoding": "gzip"})
    assert (response.status_code, response.get_json()["error"]) == (401, "unsigned")
    stranger = _signed(client, NodeKey.generate(), "GET", "/sync/fleet/whoami")
    assert stranger.get_json()["error"] == "bad_signature"


def test_a_key_is_rotated_only_with_proof_of_the_new_one(fleet) -> None:  # type: ignore[no-untyped-def]
    _app, _data, client, _csrf, key = fleet
    new, wrong = NodeKey.generate(), NodeKey.generate()
    bad = base64.b64encode(wrong.sign(rotation_proof_message(NODE, new.public_hex))).decode()
    response = _signed(
        client, key, "POST", "/sync/fleet/rotate-key", {"public_key": new.public_hex, "proof": bad}
    )
    assert response.get_json()["error"] == "bad_signature"
    assert KnownNode.get_by_id(NODE).public_key == key.public_hex
    good = base64.b64encode(new.sign(rotation_proof_message(NODE, new.public_hex))).decode()
    response = _signed(
        client, key, "POST", "/sync/fleet/rotate-key", {"public_key": new.public_hex, "proof": good}
    )
    assert response.status_code == 200
    assert KnownNode.get_by_id(NODE).public_key == new.public_hex
    assert _signed(client, new, "GET", "/sync/fleet/whoami").get_json()["node_id"] == NODE


def test_the_engineer_downloads_a_bundle_that_preregisters_a_kiosk(fleet) -> None:  # type: ignore[no-untyped-def]
    _app, data, client, csrf, _key = fleet
    form_page = client.get("/fleet/bundle").get_data(as_text=True)
    fingerprint = re.search(r"<code>([0-9A-F ]{39})</code>", form_page).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": csrf, "organization": data.posts[0][0], "central_url": "http://centre.example:8700"}
    response = client.post("/fleet/bundle", data=form)
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    bundle = open_bundle(response.data)
    from enrolment.bundle import fingerprint as fp

    assert fp(bundle.centre_key) == fingerprint
    assert bundle.central_url == "http://centre.example:8700"
    assert KnownNode.get_by_id(bundle.node_id).organization_id == data.posts[0][0]
    logins = {r["fields"].get("login") for r in bundle.records if r["model"] == "staff_credential"}
    assert "fap1" in logins and "fap2" not in logins and "ivanova" not in logins
