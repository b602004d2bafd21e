"""With central away the post tells the truth: what waits to go, that it will go when the link is
back, why the last round failed (in Russian, in local time), and that only a deferred
consultation will work."""

from __future__ import annotations

import re

import pytest

from node.sync_ui.truth import forget_counts
from node.syncing import sync_client
from sync.errors import SyncError
from tests.helpers.data import future_slot

ELDER = "Кузьмин Пётр Васильевич@1"


def _appeal(client, token: str, data, form: str = "emergency") -> str:  # type: ignore[no-untyped-def]
    doctor = data.consultants["ivanova"]
    body = {
        "patient": data.patients[ELDER],
        "consultant": doctor,
        "slot": future_slot(doctor).id,
        "kind": "primary",
        "form_of_care": form,
        "contact_mode": "video",
        "question": "Давящая боль за грудиной 20 минут",
        "consent_by": "patient",
    }
    created = client.post("/api/v1/appeals", json=body, headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.get_json()
    return str(created.get_json()["id"])


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_an_appeal_made_offline_shows_in_the_queue_at_once(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, token, data = feldsher
    before = _text(client.get("/patients").get_data(as_text=True))
    assert "Всё отправлено" in before or "Ждут отправки" in before
    appeal = _appeal(client, token, data)
    forget_counts()  # the page's few-second cache of the counts
    bar = _text(client.get("/patients").get_data(as_text=True))
    waiting = re.search(r"Ждут отправки: (\d+) \(экстренных: (\d+)\)", bar)
    assert waiting and int(waiting.group(1)) >= 1 and int(waiting.group(2)) == 1, bar
    page = _text(client.get(f"/appeals/{appeal}").get_data(as_text=True))
    assert "Обращение пока только на посту" in page


def test_with_central_away_every_page_says_so_in_russian(node_app, feldsher) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client, token, data = feldsher
    appeal = _appeal(client, token, data)
    with app.app_context(), pytest.raises(SyncError):
        sync_client().run_round()  # central (127.0.0.1:9) does not answer
    forget_counts()
    bar = _text(client.get("/patients").get_data(as_text=True))
    assert "нет связи с центром" in bar and "Уйдёт в центр, когда появится связь" in bar
    status = _text(client.get("/sync").get_data(as_text=True))
    assert "Причина Нет связи с центром: сервер не отвечает или сеть недоступна" in status
    assert "ConnectionError" not in status and "UTC" not in status
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}", status)  # no ISO times
    assert re.search(r"Последняя попытка \d{2}\.\d{2}\.\d{4} \d{2}:\d{2}", status)
    assert "экстренных обращений: 1" in status and "сначала экстренные обращения" in status
    page = _text(client.get(f"/appeals/{appeal}").get_data(as_text=True))
    assert "уйдёт в центр, когда появится связь" in page
    link = client.get("/api/v1/link").get_json()
    assert link["online"] is False and link["mode"] == "deferred"
