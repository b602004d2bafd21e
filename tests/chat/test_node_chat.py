"""The chat at the post: written offline, «не отправлено» until synced, live on the kiosk's own node."""

from __future__ import annotations

import io
import time

from domain.models import Appeal, AppealStatus, Attachment, ChatMessage
from node.extensions import socketio
from node.live.feed import on_sync_status
from sync.apply import apply_records
from sync.client import SyncStatus
from sync.clock import Stamp
from sync.model import new_id
from sync.state import Cursor
from tests.helpers.chat import ECG_TXT, PNG, appeal_to
from tests.helpers.data import rows
from tests.helpers.web import login


def _in_work_at_post(data) -> Appeal:  # type: ignore[no-untyped-def]
    """An appeal of this post that central has taken in work (as the last pull brought it)."""
    appeal = appeal_to(data, "ivanova")
    Appeal.update(status=AppealStatus.IN_WORK, taken_by=appeal.consultant_id).where(
        Appeal.id == appeal.id
    ).execute()
    return Appeal.get_by_id(appeal.id)


def _from_centre(appeal: Appeal, author_id: str, text: str) -> dict:  # type: ignore[type-arg]
    """A consultant's message as a pull from central carries it."""
    stamp = Stamp(int(time.time() * 1000), 0, "central").encode()
    message = ChatMessage(id=new_id(), appeal=appeal.id, author=author_id, text=text, attachment=None)
    message.origin, message.changed_by, message.hlc, message.deleted = "central", "central", stamp, False
    return message.to_wire()


def _events(client, name: str) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return [e["args"][0] for e in client.get_received() if e["name"] == name]


def test_feldsher_writes_offline_and_sees_not_sent_until_the_sync(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    appeal = _in_work_at_post(data)
    http = app.test_client()
    token = login(http, "fap1")
    worker = app.extensions["sync_worker"]
    worker._wake.clear()
    sent = http.post(
        f"/api/v1/appeals/{appeal.id}/messages",
        json={"text": "ЭКГ снята, отправляю файлом"},
        headers={"X-CSRF-Token": token},
    )
    assert sent.status_code == 201, sent.get_json()
    assert sent.get_json()["delivered"] is False and sent.get_json()["side"] == "post"
    assert worker._wake.is_set(), "the node should start a sync round for the message"
    with_file = http.post(
        f"/api/v1/appeals/{appeal.id}/messages",
        data={"file": (io.BytesIO(ECG_TXT), "экг.txt")},
        headers={"X-CSRF-Token": token},
        content_type="multipart/form-data",
    )
    assert with_file.status_code == 201, with_file.get_json()
    page = http.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "Чат" in page and "ЭКГ снята, отправляю файлом" in page
    assert page.count(">не отправлено<") == 2 and "экг.txt" in page
    attachment = with_file.get_json()["attachment"]
    assert http.get(f"/appeals/{appeal.id}/files/{attachment['id']}").data == ECG_TXT

    Cursor.write("push", max(m.seq for m in ChatMessage.select()))  # central acknowledged the push
    listed = http.get(f"/api/v1/appeals/{appeal.id}/messages").get_json()["messages"]
    assert [m["delivered"] for m in listed] == [True, True]
    assert "не отправлено" not in http.get(f"/appeals/{appeal.id}/chat").get_data(as_text=True)


def test_the_consultants_messages_arrive_with_the_pull_and_the_closed_appeal_keeps_them(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    appeal = _in_work_at_post(data)
    http = app.test_client()
    login(http, "fap1")
    result = apply_records(
        [_from_centre(appeal, data.consultants["ivanova"], "Пришлите ЭКГ, пожалуйста")],
        peer="central",
        from_central=True,
    )
    assert not result.refused
    Appeal.update(status=AppealStatus.CLOSED).where(Appeal.id == appeal.id).execute()
    page = http.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "Пришлите ЭКГ, пожалуйста" in page and "(консультант)" in page
    assert 'class="chat-form"' not in page and ">не отправлено<" not in page


def test_the_post_cannot_write_before_the_take_nor_in_another_posts_appeal(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    new = appeal_to(data, "ivanova")
    http = app.test_client()
    token = login(http, "fap1")
    early = http.post(
        f"/api/v1/appeals/{new.id}/messages", json={"text": "Здравствуйте"}, headers={"X-CSRF-Token": token}
    )
    assert early.status_code == 409
    assert early.get_json()["message"] == "Писать в чат можно, пока обращение в работе"
    assert 'id="chat"' not in http.get(f"/appeals/{new.id}").get_data(as_text=True)
    missing = http.post(
        f"/api/v1/appeals/{new_id()}/messages", json={"text": "?"}, headers={"X-CSRF-Token": token}
    )
    assert missing.status_code == 404
    appeal = _in_work_at_post(data)
    fake = http.post(
        f"/api/v1/appeals/{appeal.id}/messages",
        data={"file": (io.BytesIO(PNG), "анализы.docx")},
        headers={"X-CSRF-Token": token},
        content_type="multipart/form-data",
    )
    assert fake.status_code == 400
    assert rows(ChatMessage) == 0 and rows(Attachment) == 0


def test_the_form_works_without_javascript(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    appeal = _in_work_at_post(data)
    http = app.test_client()
    token = login(http, "fap1")
    sent = http.post(
        f"/appeals/{appeal.id}/chat",
        data={"csrf_token": token, "text": "Давление 150/90 после приёма"},
        follow_redirects=True,
    )
    assert sent.status_code == 200 and "Давление 150/90 после приёма" in sent.get_data(as_text=True)
    refused = http.post(
        f"/appeals/{appeal.id}/chat", data={"csrf_token": token, "text": " "}, follow_redirects=True
    )
    assert "Сообщение пустое" in refused.get_data(as_text=True)
    assert rows(ChatMessage) == 1


def test_kiosk_pages_hear_their_node_only_after_login(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    appeal = _in_work_at_post(data)
    anonymous = socketio.test_client(app, flask_test_client=app.test_client())
    assert not anonymous.is_connected()
    http = app.test_client()
    token = login(http, "fap1")
    kiosk = socketio.test_client(app, flask_test_client=http)
    assert kiosk.is_connected()
    assert kiosk.emit("join", {"appeal": new_id()}, callback=True) == {"ok": False}
    # The answer carries the status now, so a page drawn before a change it missed can catch up.
    assert kiosk.emit("join", {"appeal": appeal.id}, callback=True) == {"ok": True, "status": appeal.status}
    kiosk.get_received()
    http.post(
        f"/api/v1/appeals/{appeal.id}/messages", json={"text": "Готово"}, headers={"X-CSRF-Token": token}
    )
    assert _events(kiosk, "chat") == [{"appeal": appeal.id}]

    # A sync round brings the consultant's answer: the page hears of it and of the round.
    apply_records(
        [_from_centre(appeal, data.consultants["ivanova"], "Спасибо, вижу")],
        peer="central",
        from_central=True,
    )
    listener = on_sync_status(app.extensions["live_feed"], socketio)
    listener(SyncStatus(state="idle"))
    received = kiosk.get_received()
    assert {"appeal": appeal.id} in [e["args"][0] for e in received if e["name"] == "chat"]
    assert "synced" in [e["name"] for e in received]


def test_the_node_documents_its_chat_api(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    operations = spec["paths"]["/api/v1/appeals/{appeal_id}/messages"]
    assert {"get", "post"} <= set(operations) and "409" in operations["post"]["responses"]
