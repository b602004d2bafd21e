"""The consultant's chat at central: who may read and write it, files, and what is announced live."""

from __future__ import annotations

import io

from central.extensions import socketio
from domain.models import Appeal, Attachment, ChatMessage, Staff
from tests.helpers.chat import ECG_TXT, PNG, appeal_to, appeal_to_specialty, in_work
from tests.helpers.data import rows
from tests.helpers.web import login


def _events(client, name: str) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return [e["args"][0] for e in client.get_received() if e["name"] == name]


def test_the_consultant_who_took_the_appeal_writes_and_the_post_reads_it_in_the_closed_appeal(
    central_app,
) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = in_work(data)
    http = app.test_client()
    token = login(http, "ivanova")
    sent = http.post(
        f"/api/v1/appeals/{appeal.id}/messages",
        json={"text": "Добрый день! Пришлите, пожалуйста, ЭКГ."},
        headers={"X-CSRF-Token": token},
    )
    assert sent.status_code == 201, sent.get_json()
    assert sent.get_json()["side"] == "centre" and sent.get_json()["author"]["full_name"].startswith(
        "Иванова"
    )
    with_file = http.post(
        f"/api/v1/appeals/{appeal.id}/messages",
        data={"text": "Памятка по подготовке", "file": (io.BytesIO(ECG_TXT), "памятка.txt")},
        headers={"X-CSRF-Token": token},
        content_type="multipart/form-data",
    )
    assert with_file.status_code == 201, with_file.get_json()
    listed = http.get(f"/api/v1/appeals/{appeal.id}/messages").get_json()
    assert [m["text"] for m in listed["messages"]] == [
        "Добрый день! Пришлите, пожалуйста, ЭКГ.",
        "Памятка по подготовке",
    ]
    assert listed["may_write"] is True
    attachment = listed["messages"][1]["attachment"]
    assert attachment["filename"] == "памятка.txt"
    download = http.get(f"/appeals/{appeal.id}/files/{attachment['id']}")
    assert download.status_code == 200 and download.data == ECG_TXT

    page = http.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "Чат" in page and "Пришлите, пожалуйста, ЭКГ" in page and "памятка.txt" in page
    assert "Отправить" in page
    # The chat's file opens in the page's viewer, like the appeal's other files.
    viewer = f"/appeals/{appeal.id}/files/{attachment['id']}/preview"
    assert f'href="{viewer}">памятка.txt</a>' in page
    shown = http.get(viewer)
    assert shown.status_code == 200 and "ритм синусовый, ЧСС 96" in shown.get_data(as_text=True)

    # After «Отправить протокол» the chat is history: shown, no longer writable.
    Appeal.update(status="closed").where(Appeal.id == appeal.id).execute()
    closed = http.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "Пришлите, пожалуйста, ЭКГ" in closed and "памятка.txt" in closed
    assert 'class="chat-form"' not in closed
    refused = http.post(
        f"/api/v1/appeals/{appeal.id}/messages", json={"text": "ещё"}, headers={"X-CSRF-Token": token}
    )
    assert refused.status_code == 409
    assert refused.get_json()["message"] == "Писать в чат можно, пока обращение в работе"
    assert rows(ChatMessage) == 2


def test_bad_messages_are_refused_and_store_nothing(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = in_work(data)
    http = app.test_client()
    token = login(http, "ivanova")
    empty = http.post(
        f"/api/v1/appeals/{appeal.id}/messages", json={"text": "   "}, headers={"X-CSRF-Token": token}
    )
    assert empty.status_code == 400 and empty.get_json()["message"] == "Сообщение пустое"
    fake = http.post(
        f"/api/v1/appeals/{appeal.id}/messages",
        data={"text": "снимок", "file": (io.BytesIO(PNG), "снимок.pdf")},
        headers={"X-CSRF-Token": token},
        content_type="multipart/form-data",
    )
    assert fake.status_code == 400 and "содержимое не совпадает с расширением" in fake.get_json()["message"]
    no_csrf = http.post(f"/api/v1/appeals/{appeal.id}/messages", json={"text": "без токена"})
    assert no_csrf.status_code == 400
    assert rows(ChatMessage) == 0 and rows(Attachment) == 0


def test_a_new_appeal_has_no_chat_yet(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = appeal_to(data)
    http = app.test_client()
    token = login(http, "ivanova")
    assert 'id="chat"' not in http.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    refused = http.post(
        f"/api/v1/appeals/{appeal.id}/messages",
        json={"text": "Здравствуйте"},
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 409 and rows(ChatMessage) == 0


def test_another_consultant_cannot_read_join_or_write_the_chat(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = in_work(data, "ivanova")
    ChatMessage.create(
        appeal=appeal, author=Staff.get_by_id(data.consultants["ivanova"]), text="Только для поста"
    )
    for other in ("kuznetsova", "smirnov"):  # another specialty; the same specialty, not the one who took it
        http = app.test_client()
        token = login(http, other)
        assert http.get(f"/api/v1/appeals/{appeal.id}/messages").status_code == 404
        assert http.get(f"/appeals/{appeal.id}/chat").status_code == 404
        assert http.get(f"/appeals/{appeal.id}").status_code == 404
        posted = http.post(
            f"/api/v1/appeals/{appeal.id}/messages", json={"text": "чужое"}, headers={"X-CSRF-Token": token}
        )
        assert posted.status_code == 404
        form = http.post(f"/appeals/{appeal.id}/chat", data={"csrf_token": token, "text": "чужое"})
        assert form.status_code == 404
        sock = socketio.test_client(app, flask_test_client=http)
        assert sock.is_connected()
        assert sock.emit("join", {"appeal": appeal.id}, callback=True) == {
            "ok": False,
            "message": "Нет доступа к этому обращению",
        }
        sock.get_received()
        owner = app.test_client()
        owner_token = login(owner, "ivanova")
        owner.post(
            f"/api/v1/appeals/{appeal.id}/messages",
            json={"text": "ЭКГ получила"},
            headers={"X-CSRF-Token": owner_token},
        )
        assert _events(sock, "chat") == [], f"{other} heard of a chat that is not theirs"
        sock.disconnect()
    assert [m.text for m in ChatMessage.select().order_by(ChatMessage.sent_at)] == [
        "Только для поста",
        "ЭКГ получила",
        "ЭКГ получила",
    ]


def test_sockets_refuse_anonymous_browsers_and_unsigned_nodes(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    anonymous = socketio.test_client(app, flask_test_client=app.test_client())
    assert not anonymous.is_connected()
    unsigned = socketio.test_client(app, namespace="/node")
    assert not unsigned.is_connected("/node")


def test_the_appeal_room_hears_new_messages_and_status_changes(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = appeal_to(data, "ivanova")
    http = app.test_client()
    token = login(http, "ivanova")
    sock = socketio.test_client(app, flask_test_client=http)
    # The answer carries the status now, so a page drawn before a change it missed can catch up.
    assert sock.emit("join", {"appeal": appeal.id}, callback=True) == {"ok": True, "status": "new"}
    sock.get_received()
    http.post(f"/api/v1/appeals/{appeal.id}/take", headers={"X-CSRF-Token": token})
    assert {"id": appeal.id, "status": "in_work"} in _events(sock, "appeal")
    http.post(
        f"/api/v1/appeals/{appeal.id}/messages",
        json={"text": "Здравствуйте"},
        headers={"X-CSRF-Token": token},
    )
    assert _events(sock, "chat") == [{"appeal": appeal.id}]


def test_queues_of_the_specialty_hear_of_new_and_taken_appeals_others_do_not(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    sockets = {}
    clients = {}
    for name in ("ivanova", "smirnov", "kuznetsova"):
        clients[name] = app.test_client()
        login(clients[name], name)
        sockets[name] = socketio.test_client(app, flask_test_client=clients[name])
        assert sockets[name].is_connected()
    appeal = appeal_to_specialty(data)
    feed = app.extensions["live_feed"]
    feed.flush()  # as after the push that brought it
    heard = {name: bool(_events(sock, "appeals_changed")) for name, sock in sockets.items()}
    assert heard == {"ivanova": True, "smirnov": True, "kuznetsova": False}
    token = login(clients["ivanova"], "ivanova")
    taken = clients["ivanova"].post(f"/api/v1/appeals/{appeal.id}/take", headers={"X-CSRF-Token": token})
    assert taken.status_code == 200
    heard = {name: bool(_events(sock, "appeals_changed")) for name, sock in sockets.items()}
    assert heard == {"ivanova": True, "smirnov": True, "kuznetsova": False}
    smirnov_new = clients["smirnov"].get("/api/v1/appeals?queue=new").get_json()["appeals"]
    assert appeal.id not in [a["id"] for a in smirnov_new]


def test_chat_api_is_in_the_openapi_document(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/appeals/{appeal_id}/messages"])


def test_a_node_links_with_signed_headers_and_hears_only_of_its_own_posts_changes(central_app) -> None:  # type: ignore[no-untyped-def]
    from node.live.link import CentralLink
    from sync import server
    from sync.request_signing import NodeKey
    from sync.session import CentralSession

    app, data = central_app
    links = {}
    for index, node_id in enumerate(("kiosk-medno", "kiosk-kushalino")):
        key = NodeKey.generate()
        server.register_node(node_id, data.posts[index][0], key.public_hex)
        links[node_id] = CentralLink(CentralSession("http://127.0.0.1:9", node_id, key), lambda: None)
    headers = links["kiosk-medno"].headers()
    medno = socketio.test_client(app, namespace="/node", headers=headers)
    assert medno.is_connected("/node")
    replayed = socketio.test_client(app, namespace="/node", headers=headers)
    assert not replayed.is_connected("/node"), "a handshake's signature must not be usable twice"
    kushalino = socketio.test_client(app, namespace="/node", headers=links["kiosk-kushalino"].headers())
    assert kushalino.is_connected("/node")
    forged = dict(links["kiosk-kushalino"].headers(), **{"X-Faplink-Node": "kiosk-medno"})
    assert not socketio.test_client(app, namespace="/node", headers=forged).is_connected("/node")

    appeal = in_work(data)  # an appeal of post 1 (ФАП д. Медное)
    assert [n.room for n in app.extensions["live_feed"].flush() if n.event == "changes"] == [
        f"post:{data.posts[0][0]}"
    ]
    medno.get_received("/node")
    kushalino.get_received("/node")
    http = app.test_client()
    token = login(http, "ivanova")
    http.post(
        f"/api/v1/appeals/{appeal.id}/messages", json={"text": "На связи"}, headers={"X-CSRF-Token": token}
    )
    changes = [e["args"][0] for e in medno.get_received("/node") if e["name"] == "changes"]
    assert changes == [{"changed_by": ["central"]}]
    assert kushalino.get_received("/node") == []


def test_a_post_hears_of_what_its_pull_would_bring_and_not_of_the_regions_timetable(central_app) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from domain.models import Slot, StaffCredential
    from node.live.link import CentralLink
    from sync import server
    from sync.clock import utcnow
    from sync.request_signing import NodeKey
    from sync.session import CentralSession

    app, data = central_app
    linked = {}
    for index, node_id in enumerate(("kiosk-medno", "kiosk-kushalino")):
        key = NodeKey.generate()
        server.register_node(node_id, data.posts[index][0], key.public_hex)
        headers = CentralLink(CentralSession("http://127.0.0.1:9", node_id, key), lambda: None).headers()
        linked[index] = socketio.test_client(app, namespace="/node", headers=headers)
        assert linked[index].is_connected("/node")
    feed = app.extensions["live_feed"]
    feed.flush()

    # A login of post 2's feldsher changed at central: post 2 pulls it, post 1 does not.
    credential = StaffCredential.get(
        StaffCredential.staff.in_(Staff.select(Staff.id).where(Staff.organization == data.posts[1][0]))
    )
    credential.password_hash = credential.password_hash + "x"
    credential.save()
    assert [n.room for n in feed.flush() if n.event == "changes"] == [f"post:{data.posts[1][0]}"]

    # A new slot of a centre's consultant: every post pulls it alike, on its timer.
    doctor = Staff.get_by_id(data.consultants["ivanova"])
    starts = utcnow() + timedelta(days=3)
    Slot.create(consultant=doctor, starts_at=starts, ends_at=starts + timedelta(minutes=30))
    assert [n for n in feed.flush() if n.event == "changes"] == []
    linked[0].disconnect(namespace="/node")
    linked[1].disconnect(namespace="/node")
