"""The kiosk's own view of its link: GET /api/v1/link for the call UI, and «Синхронизация»."""

from __future__ import annotations

import json

from tests.helpers.web import login


def test_the_call_ui_reads_the_mode_and_a_dead_link_offers_deferred(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client = app.test_client()
    assert client.get("/api/v1/link").status_code == 401
    token = login(client, "fap1")

    never = client.get("/api/v1/link").get_json()
    assert never["mode"] == "deferred" and never["measured_at"] is None and never["stale"] is True

    # This post's central (127.0.0.1:9) does not answer.
    measured = client.post("/api/v1/link/measure", headers={"X-CSRF-Token": token}).get_json()
    assert measured["mode"] == "deferred" and measured["rtt_ms"] is None
    assert measured["error"].startswith("Центр не отвечает") and measured["stale"] is False
    assert client.get("/api/v1/link").get_json() == measured

    kept = json.loads((app.config["DATA_DIR"] / "link-quality.json").read_text())
    assert kept["measured_at"] == measured["measured_at"]

    page = client.get("/sync").get_data(as_text=True)
    assert 'data-link-mode="deferred"' in page and "отложенная консультация" in page
    assert "Проверить связь" in page


def test_the_link_is_in_the_openapi_document(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/link"] and "post" in paths["/api/v1/link/measure"]
