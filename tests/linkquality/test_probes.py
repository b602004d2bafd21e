"""Central's link probes refuse what is not a kiosk's bounded measurement; the consultant sees
the post's link on the appeal page and in the API, and old news as old news."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from central.post_link.probes import MAX_PROBE_BYTES
from node.link_monitor.measure import MAX_PROBE_BYTES as NODE_LARGEST
from sync.clock import utcnow
from sync.request_signing import NodeKey, signed_headers
from sync.server import register_node
from sync.state import KnownNode
from tests.helpers.appeals import in_work, login_page, new_appeal

DOWN = "/sync/link/v1/down"
UP = "/sync/link/v1/up"
REPORT = "/sync/link/v1/report"


@pytest.fixture
def kiosk(central_app):  # type: ignore[no-untyped-def]
    """A kiosk of post 1 enrolled with central: (app, demo data, node id, key)."""
    app, data = central_app
    key = NodeKey.generate()
    node_id = f"kiosk-{uuid.uuid4().hex[:10]}"
    register_node(node_id, data.posts[0][0], key.public_hex)
    return app, data, node_id, key


def signed(key: NodeKey, node_id: str, method: str, path: str, body: bytes = b"") -> dict[str, str]:
    return signed_headers(key, node_id, method, path, body)


def measurement(mode: str, **figures: Any) -> dict[str, Any]:
    values = {"rtt_ms": 180.0, "down_kbps": 240.0, "up_kbps": 110.0, "loss_pct": 1.5, "error": None}
    return {**values, **figures, "mode": mode, "measured_at": utcnow().isoformat() + "+00:00"}


def push(client: Any, key: NodeKey, node_id: str, data: dict[str, Any]) -> Any:
    body = gzip.compress(json.dumps(data).encode())
    headers = signed(key, node_id, "POST", REPORT, body) | {"Content-Encoding": "gzip"}
    return client.post(REPORT, data=body, headers=headers)


# -- the probes --------------------------------------------------------------------


def test_a_kiosk_gets_the_bytes_it_asked_for_and_they_do_not_compress(kiosk) -> None:  # type: ignore[no-untyped-def]
    app, _, node_id, key = kiosk
    path = f"{DOWN}?bytes=200000"
    answer = app.test_client().get(path, headers=signed(key, node_id, "GET", path))
    assert answer.status_code == 200
    assert len(answer.data) == 200_000
    assert len(gzip.compress(answer.data)) > 0.99 * 200_000

    body = bytes(70_000)
    swallowed = app.test_client().post(UP, data=body, headers=signed(key, node_id, "POST", UP, body))
    assert swallowed.status_code == 200 and swallowed.get_json()["received"] == 70_000
    assert set(swallowed.get_json()) == {"received", "after_first", "seconds"}


def test_unsigned_probes_are_refused(kiosk) -> None:  # type: ignore[no-untyped-def]
    app, *_ = kiosk
    client = app.test_client()
    down = client.get(f"{DOWN}?bytes=1000")
    assert down.status_code == 401 and down.get_json()["error"] == "unsigned"
    up = client.post(UP, data=bytes(1000))
    assert up.status_code == 401 and up.get_json()["error"] == "unsigned"
    report = client.post(REPORT, json=measurement("video"))
    assert report.status_code == 401


def test_a_stranger_a_revoked_kiosk_and_a_replay_are_refused(kiosk) -> None:  # type: ignore[no-untyped-def]
    app, _, node_id, key = kiosk
    client = app.test_client()
    path = f"{DOWN}?bytes=1000"
    stranger = client.get(path, headers=signed(NodeKey.generate(), node_id, "GET", path))
    assert stranger.status_code == 401 and stranger.get_json()["error"] == "bad_signature"

    headers = signed(key, node_id, "GET", path)
    assert client.get(path, headers=headers).status_code == 200
    replay = client.get(path, headers=headers)
    assert replay.get_json()["error"] == "replayed"

    KnownNode.update(revoked=True).where(KnownNode.node_id == node_id).execute()
    revoked = client.get(path, headers=signed(key, node_id, "GET", path))
    assert revoked.status_code == 401 and revoked.get_json()["error"] == "revoked"


def test_probes_larger_than_a_mebibyte_are_refused(kiosk) -> None:  # type: ignore[no-untyped-def]
    app, _, node_id, key = kiosk
    client = app.test_client()
    assert NODE_LARGEST <= MAX_PROBE_BYTES  # what the kiosk asks for, central serves

    path = f"{DOWN}?bytes={MAX_PROBE_BYTES + 1}"
    down = client.get(path, headers=signed(key, node_id, "GET", path))
    assert down.status_code == 413
    assert str(MAX_PROBE_BYTES) in down.get_json()["message"]

    body = bytes(MAX_PROBE_BYTES + 1)
    up = client.post(UP, data=body, headers=signed(key, node_id, "POST", UP, body))
    assert up.status_code == 413

    for bad in ("0", "-5", "many"):
        path = f"{DOWN}?bytes={bad}"
        assert client.get(path, headers=signed(key, node_id, "GET", path)).status_code == 400


def test_a_paced_download_may_not_tie_up_central_for_long(kiosk) -> None:  # type: ignore[no-untyped-def]
    app, _, node_id, key = kiosk
    path = f"{DOWN}?bytes=600000&pace=2000"  # 300 s
    answer = app.test_client().get(path, headers=signed(key, node_id, "GET", path))
    assert answer.status_code == 400 and answer.get_json()["field"] == "pace"


def test_a_kiosk_that_probes_too_much_is_told_to_wait(kiosk) -> None:  # type: ignore[no-untyped-def]
    app, _, node_id, key = kiosk
    app.config["LINK_PROBE_BYTES_PER_MINUTE"] = 100_000
    client = app.test_client()
    path = f"{DOWN}?bytes=60000"
    assert client.get(path, headers=signed(key, node_id, "GET", path)).status_code == 200
    body = bytes(50_000)
    refused = client.post(UP, data=body, headers=signed(key, node_id, "POST", UP, body))
    assert refused.status_code == 429
    assert "повторите через минуту" in refused.get_json()["message"]


def test_what_a_paced_download_cost_can_be_asked_for(kiosk) -> None:  # type: ignore[no-untyped-def]
    app, _, node_id, key = kiosk
    client = app.test_client()
    path = f"{DOWN}?bytes=20000&pace=200000&probe=0123456789abcdef"
    assert len(client.get(path, headers=signed(key, node_id, "GET", path)).data) == 20_000
    # The test client has no TCP socket: central says it could not count (0 bytes).
    cost = "/sync/link/v1/sent/0123456789abcdef"
    assert client.get(cost, headers=signed(key, node_id, "GET", cost)).get_json() == {
        "segments": 0,
        "retransmitted": 0,
        "spurious": 0,
    }
    unknown = "/sync/link/v1/sent/ffffffffffffffff"
    assert client.get(unknown, headers=signed(key, node_id, "GET", unknown)).status_code == 404


# -- what the consultant sees ----------------------------------------------------------


def test_the_consultant_sees_the_mode_the_post_can_sustain(kiosk) -> None:  # type: ignore[no-untyped-def]
    app, data, node_id, key = kiosk
    appeal = new_appeal(data)
    client = app.test_client()
    login_page(client, "ivanova")
    html = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "Связь с ФАП" in html and "Пост ещё не сообщал о качестве связи." in html
    assert client.get(f"/api/v1/appeals/{appeal.id}/link").get_json() == {"link": None}

    assert push(app.test_client(), key, node_id, measurement("audio")).status_code == 200
    html = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert 'data-link-mode="audio"' in html and "только звук" in html
    assert "240 / 110" in html and "180" in html
    link = client.get(f"/api/v1/appeals/{appeal.id}/link").get_json()["link"]
    assert link["mode"] == "audio" and link["node_id"] == node_id and not link["stale"]
    assert (link["rtt_ms"], link["down_kbps"], link["up_kbps"], link["loss_pct"]) == (180, 240, 110, 1.5)


def test_an_old_measurement_offers_a_deferred_consultation(kiosk) -> None:  # type: ignore[no-untyped-def]
    app, data, node_id, key = kiosk
    appeal = new_appeal(data)
    old = measurement("video", down_kbps=3000.0, up_kbps=1500.0)
    old["measured_at"] = (utcnow() - timedelta(minutes=40)).isoformat()
    assert push(app.test_client(), key, node_id, old).status_code == 200
    client = app.test_client()
    login_page(client, "ivanova")
    html = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert 'data-link-mode="deferred"' in html and "отложенная консультация" in html
    assert "Измерение устарело (40 мин назад)" in html and "Было: видео." in html
    link = client.get(f"/api/v1/appeals/{appeal.id}/link").get_json()["link"]
    assert (link["mode"], link["measured_mode"], link["stale"]) == ("deferred", "video", True)


def test_the_health_report_carries_the_link_too_and_the_newest_counts(kiosk) -> None:  # type: ignore[no-untyped-def]
    app, data, node_id, key = kiosk
    appeal = new_appeal(data)
    earlier = measurement("video")
    earlier["measured_at"] = (utcnow() - timedelta(minutes=3)).isoformat()
    assert push(app.test_client(), key, node_id, earlier).status_code == 200
    report = {"at": utcnow().isoformat(), "state": "idle", "link": measurement("chat", down_kbps=20.0)}
    body = gzip.compress(json.dumps(report).encode())
    headers = signed(key, node_id, "POST", "/sync/fleet/report", body) | {"Content-Encoding": "gzip"}
    assert app.test_client().post("/sync/fleet/report", data=body, headers=headers).status_code == 200
    client = app.test_client()
    login_page(client, "ivanova")
    assert client.get(f"/api/v1/appeals/{appeal.id}/link").get_json()["link"]["mode"] == "chat"
    # A late push of an older measurement does not replace a newer one.
    assert push(app.test_client(), key, node_id, earlier).status_code == 200
    assert client.get(f"/api/v1/appeals/{appeal.id}/link").get_json()["link"]["mode"] == "chat"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"mode": "hologram"}, "mode"), ({"rtt_ms": "fast"}, "rtt_ms"), ({"loss_pct": -1}, "loss_pct")],
)
def test_a_report_that_is_not_a_measurement_is_refused(kiosk, change, field) -> None:  # type: ignore[no-untyped-def]
    app, _, node_id, key = kiosk
    answer = push(app.test_client(), key, node_id, {**measurement("video"), **change})
    assert answer.status_code == 400 and answer.get_json()["field"] == field


@pytest.mark.parametrize(
    ("mode", "advice", "primary"),
    [
        ("video", None, "video"),
        ("audio", "Связь тянет только звук: лучше аудиозвонок", "audio"),
        ("deferred", "Связи сейчас нет: консультация пойдёт в отложенном режиме", None),
    ],
)
def test_the_call_buttons_advise_the_mode_the_post_sustains(kiosk, mode, advice, primary) -> None:  # type: ignore[no-untyped-def]
    app, data, node_id, key = kiosk
    client = app.test_client()
    login_page(client, "ivanova")
    appeal, _token = in_work(client, data)
    html = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert 'data-call-mode="video"' in html and "call-advice" not in html  # never measured: no advice

    assert push(app.test_client(), key, node_id, measurement(mode)).status_code == 200
    html = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert (advice in html) if advice else ("call-advice" not in html)
    for button in ("video", "audio"):
        marked = f'call-button primary" data-call-mode="{button}"' in html
        assert marked == (button == primary), button
