"""Calls at the post's node: the kiosk's page may call only about its post's appeals in work, via central."""

from __future__ import annotations

from domain.models import Appeal, AppealStatus
from node.extensions import socketio
from tests.helpers.chat import appeal_to
from tests.helpers.web import login


def _in_work_at_post(data) -> Appeal:  # type: ignore[no-untyped-def]
    appeal = appeal_to(data, "ivanova")
    Appeal.update(status=AppealStatus.IN_WORK, taken_by=appeal.consultant_id).where(
        Appeal.id == appeal.id
    ).execute()
    return Appeal.get_by_id(appeal.id)


def _kiosk(app, login_name: str = "fap1"):  # type: ignore[no-untyped-def]
    http = app.test_client()
    login(http, login_name)
    sock = socketio.test_client(app, flask_test_client=http)
    assert sock.is_connected()
    return http, sock


def test_the_kiosk_shows_call_buttons_only_while_the_appeal_is_in_work(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    in_work = _in_work_at_post(data)
    new = appeal_to(data, "ivanova")
    http, _ = _kiosk(app)
    page = http.get(f"/appeals/{in_work.id}").get_data(as_text=True)
    assert "Видеозвонок" in page and "Аудиозвонок" in page and "Звонки" in page
    assert "Видеозвонок" not in http.get(f"/appeals/{new.id}").get_data(as_text=True)
    assert http.get(f"/api/v1/appeals/{in_work.id}/calls").get_json()["may_call"] is True


def test_the_kiosk_page_cannot_call_about_an_appeal_not_in_work_or_not_of_this_post(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    new = appeal_to(data, "ivanova")
    _, sock = _kiosk(app)
    not_in_work = {"ok": False, "message": "Звонить можно, пока обращение в работе"}
    assert sock.emit("call:join", {"appeal": new.id}, callback=True) == not_in_work
    assert sock.emit("call:place", {"appeal": new.id, "mode": "video"}, callback=True) == not_in_work
    unknown = {"ok": False, "message": "Обращение не найдено"}
    assert sock.emit("call:join", {"appeal": "an-appeal-of-another-post"}, callback=True) == unknown
    assert (
        sock.emit("call:place", {"appeal": "an-appeal-of-another-post", "mode": "audio"}, callback=True)
        == unknown
    )


def test_without_a_link_to_central_the_kiosk_is_told_to_write_in_the_chat(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app  # this node has no link to central
    appeal = _in_work_at_post(data)
    _, sock = _kiosk(app)
    assert sock.emit("call:join", {"appeal": appeal.id}, callback=True) == {"ok": True, "linked": False}
    assert sock.emit("call:place", {"appeal": appeal.id, "mode": "video"}, callback=True) == {
        "ok": False,
        "message": "Нет связи с центром: позвонить сейчас нельзя, напишите в чат",
    }
    assert sock.emit("call:place", {"appeal": appeal.id, "mode": "phone"}, callback=True) == {
        "ok": False,
        "message": "Неизвестный вид звонка",
    }
    assert sock.emit("call:hangup", {"call": "no-such-call"}, callback=True) == {
        "ok": False,
        "message": "Звонок уже завершён",
    }


def test_anonymous_pages_get_no_socket_and_logged_out_pages_no_call_log(node_app) -> None:  # type: ignore[no-untyped-def]
    app, data = node_app
    appeal = _in_work_at_post(data)
    anonymous = socketio.test_client(app, flask_test_client=app.test_client())
    assert not anonymous.is_connected()
    assert app.test_client().get(f"/api/v1/appeals/{appeal.id}/calls").status_code == 401
