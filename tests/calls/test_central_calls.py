"""Calls at central: who may call and answer, what is relayed to whom, and the call log it keeps.

The parties are real Socket.IO clients of central's app: the consultant's page
(session login) and the posts' nodes (signed link handshakes).
"""

from __future__ import annotations

from domain.models import Appeal, AppealStatus, CallLog, Staff
from tests.calls.helpers import NODE, consultant_socket, events, node_socket, wait_for_events
from tests.helpers.chat import appeal_to, feldsher, in_work
from tests.helpers.data import rows
from tests.helpers.timing import ManualClock
from tests.helpers.web import login


def test_the_consultant_who_took_the_appeal_sees_the_call_buttons_and_the_log(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = in_work(data, "ivanova")
    http = app.test_client()
    login(http, "ivanova")
    page = http.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "Видеозвонок" in page and "Аудиозвонок" in page
    assert 'id="call-panel"' in page and "Звонки" in page and "Звонков не было" in page
    assert http.get(f"/api/v1/appeals/{appeal.id}/calls").get_json() == {
        "calls": [],
        "may_call": True,
        "ice_servers": [],
    }


def test_another_consultant_cannot_join_place_or_answer_the_appeals_calls(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = in_work(data, "ivanova")
    medno = node_socket(app, data.posts[0][0], "kiosk-medno")
    for other in ("smirnov", "kuznetsova"):  # the same specialty, not the one who took it; another specialty
        sock = consultant_socket(app, other)
        refused = {"ok": False, "message": "Нет доступа к этому обращению"}
        assert sock.emit("call:join", {"appeal": appeal.id}, callback=True) == refused
        assert sock.emit("call:place", {"appeal": appeal.id, "mode": "video"}, callback=True) == refused
        sock.disconnect()
    assert events(medno, "call:incoming", NODE) == [], "the post must not ring for a refused call"

    # A call the post places rings only at the consultant who took the appeal.
    ivanova = consultant_socket(app, "ivanova")
    assert ivanova.emit("call:join", {"appeal": appeal.id}, callback=True) == {"ok": True}
    smirnov = consultant_socket(app, "smirnov")
    smirnov.emit("call:join", {"appeal": appeal.id}, callback=True)
    placed = medno.emit(
        "call:place",
        {"appeal": appeal.id, "mode": "audio", "staff": feldsher(data).id},
        namespace=NODE,
        callback=True,
    )
    assert placed["ok"] is True
    assert [e["call"] for e in events(ivanova, "call:incoming")] == [placed["call"]]
    assert events(smirnov, "call:incoming") == []
    assert smirnov.emit("call:answer", {"call": placed["call"]}, callback=True) == {
        "ok": False,
        "message": "Это не ваш звонок",
    }
    assert smirnov.emit("call:signal", {"call": placed["call"], "data": {"sdp": "x"}}, callback=True) == {
        "ok": False,
        "message": "Это не ваш звонок",
    }


def test_no_calls_about_an_appeal_that_is_not_in_work(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    new = appeal_to(data, "ivanova")
    closed = in_work(data, "ivanova")
    Appeal.update(status=AppealStatus.CLOSED).where(Appeal.id == closed.id).execute()
    node_socket(app, data.posts[0][0], "kiosk-medno")
    ivanova = consultant_socket(app, "ivanova")
    for appeal in (new, closed):
        refused = {"ok": False, "message": "Звонить можно, пока обращение в работе"}
        assert ivanova.emit("call:join", {"appeal": appeal.id}, callback=True) == refused
        assert ivanova.emit("call:place", {"appeal": appeal.id, "mode": "video"}, callback=True) == refused
        http = app.test_client()
        login(http, "ivanova")
        assert "Видеозвонок" not in http.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    medno = node_socket(app, data.posts[0][0], "kiosk-medno-2")
    refused_post = medno.emit(
        "call:place",
        {"appeal": new.id, "mode": "video", "staff": feldsher(data).id},
        namespace=NODE,
        callback=True,
    )
    assert refused_post == {"ok": False, "message": "Звонить можно, пока обращение в работе", "params": {}}
    assert rows(CallLog) == 0


def test_another_posts_node_can_neither_place_nor_answer_nor_hear_the_call(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = in_work(data, "ivanova")  # an appeal of post 1 (ФАП д. Медное)
    medno = node_socket(app, data.posts[0][0], "kiosk-medno")
    kushalino = node_socket(app, data.posts[1][0], "kiosk-kushalino")
    not_theirs = {
        "ok": False,
        "message": "Звонить может фельдшер поста, которому адресовано обращение",
        "params": {},
    }
    # The other post's node, with the other post's feldsher: the appeal is not its post's.
    assert kushalino.emit(
        "call:place",
        {"appeal": appeal.id, "mode": "video", "staff": feldsher(data, 1).id},
        namespace=NODE,
        callback=True,
    ) == {"ok": False, "message": "Обращение не найдено в центре: дождитесь синхронизации", "params": {}}
    # Either node vouching for a feldsher of a post that is not its own.
    assert (
        kushalino.emit(
            "call:place",
            {"appeal": appeal.id, "mode": "video", "staff": feldsher(data, 0).id},
            namespace=NODE,
            callback=True,
        )
        == not_theirs
    )
    assert (
        medno.emit(
            "call:place",
            {"appeal": appeal.id, "mode": "video", "staff": feldsher(data, 1).id},
            namespace=NODE,
            callback=True,
        )
        == not_theirs
    )
    # A consultant's call rings at the appeal's post only; the other post cannot answer or decline it.
    ivanova = consultant_socket(app, "ivanova")
    placed = ivanova.emit("call:place", {"appeal": appeal.id, "mode": "video"}, callback=True)
    assert placed["ok"] is True
    assert [e["call"] for e in events(medno, "call:incoming", NODE)] == [placed["call"]]
    assert events(kushalino, "call:incoming", NODE) == []
    for event in ("call:answer", "call:decline", "call:hangup"):
        answer = kushalino.emit(
            event, {"call": placed["call"], "staff": feldsher(data, 1).id}, namespace=NODE, callback=True
        )
        assert answer == {"ok": False, "message": "Это звонок другого поста", "params": {}}
    assert events(ivanova, "call:accepted") == []


def test_a_consultants_call_answered_by_the_post_relays_signals_and_is_logged_completed(  # type: ignore[no-untyped-def]
    central_app, monkeypatch
) -> None:
    app, data = central_app
    clock = ManualClock()  # the talk lasts as long as the test says
    monkeypatch.setattr("web.calls.talk_clock", clock)
    appeal = in_work(data, "ivanova")
    medno = node_socket(app, data.posts[0][0], "kiosk-medno")
    second_kiosk = node_socket(app, data.posts[0][0], "kiosk-medno-2")  # the same post's second kiosk
    ivanova = consultant_socket(app, "ivanova")
    assert ivanova.emit("call:join", {"appeal": appeal.id}, callback=True) == {"ok": True}
    placed = ivanova.emit("call:place", {"appeal": appeal.id, "mode": "video"}, callback=True)
    call = placed["call"]
    busy = ivanova.emit("call:place", {"appeal": appeal.id, "mode": "audio"}, callback=True)
    assert busy == {"ok": False, "message": "По этому обращению уже идёт звонок"}
    incoming = events(medno, "call:incoming", NODE)
    assert incoming == [
        {
            "call": call,
            "appeal": appeal.id,
            "mode": "video",
            "caller": Staff.get_by_id(data.consultants["ivanova"]).full_name,
        }
    ]
    assert events(second_kiosk, "call:incoming", NODE) == incoming
    # Signals before the call is answered go nowhere.
    early = ivanova.emit("call:signal", {"call": call, "data": {"sdp": {"type": "offer"}}}, callback=True)
    assert early == {"ok": False, "message": "Звонок ещё не принят"}

    staff = feldsher(data).id
    assert medno.emit("call:answer", {"call": call, "staff": staff}, namespace=NODE, callback=True) == {
        "ok": True
    }
    assert events(ivanova, "call:accepted") == [{"call": call, "appeal": appeal.id, "mode": "video"}]
    assert events(second_kiosk, "call:taken", NODE) == [{"call": call, "appeal": appeal.id, "mode": "video"}]
    late = second_kiosk.emit("call:answer", {"call": call, "staff": staff}, namespace=NODE, callback=True)
    assert late == {"ok": False, "message": "Звонок уже принят", "params": {}}
    spoof = second_kiosk.emit(
        "call:signal",
        {"call": call, "staff": staff, "data": {"candidate": {}}},
        namespace=NODE,
        callback=True,
    )
    assert spoof["ok"] is False, "only the kiosk that answered takes part in the call"

    offer = {"sdp": {"type": "offer", "sdp": "v=0…"}}
    assert ivanova.emit("call:signal", {"call": call, "data": offer}, callback=True) == {"ok": True}
    assert events(medno, "call:signal", NODE) == [{"call": call, "data": offer}]
    answer = {"sdp": {"type": "answer", "sdp": "v=0…"}}
    medno.emit("call:signal", {"call": call, "staff": staff, "data": answer}, namespace=NODE, callback=True)
    assert events(ivanova, "call:signal") == [{"call": call, "data": answer}]
    assert events(second_kiosk, "call:signal", NODE) == []

    clock.advance(95)  # a minute and a half of talk
    assert ivanova.emit("call:hangup", {"call": call}, callback=True) == {"ok": True}
    ended = events(medno, "call:ended", NODE)
    assert [(e["call"], e["outcome"]) for e in ended] == [(call, "completed")]
    log = CallLog.get(CallLog.appeal == appeal.id)
    assert log.id == call, "the log row is the call's own record"
    assert (log.caller.id, log.mode, log.outcome) == (data.consultants["ivanova"], "video", "completed")
    assert log.duration_s == 95 and log.ended_at is not None and log.ended_at >= log.started_at
    http = app.test_client()
    login(http, "ivanova")
    listed = http.get(f"/api/v1/appeals/{appeal.id}/calls").get_json()["calls"]
    assert [(c["mode"], c["outcome"], c["duration_s"]) for c in listed] == [
        ("video", "completed", log.duration_s)
    ]
    assert "Состоялся" in http.get(f"/appeals/{appeal.id}").get_data(as_text=True)


def test_a_declined_and_an_unanswered_call_are_logged_so(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = in_work(data, "ivanova")
    medno = node_socket(app, data.posts[0][0], "kiosk-medno")
    ivanova = consultant_socket(app, "ivanova")
    first = ivanova.emit("call:place", {"appeal": appeal.id, "mode": "audio"}, callback=True)["call"]
    declined = medno.emit(
        "call:decline", {"call": first, "staff": feldsher(data).id}, namespace=NODE, callback=True
    )
    assert declined == {"ok": True}
    assert [e["outcome"] for e in events(ivanova, "call:ended") if e["call"] == first] == ["declined"]

    # A short ring for the unanswered call only: the first must not run out before it is declined.
    app.extensions["calls"].ring_seconds = 0.5
    second = ivanova.emit("call:place", {"appeal": appeal.id, "mode": "video"}, callback=True)["call"]
    # Nobody answers: once the ring time is out, both sides are told it was missed.
    assert [e["outcome"] for e in wait_for_events(ivanova, "call:ended", second)] == ["missed"]
    assert [e["outcome"] for e in wait_for_events(medno, "call:ended", second, NODE)] == ["missed"]
    logged = [
        (c.mode, c.outcome, c.duration_s) for c in CallLog.select().order_by(CallLog.started_at, CallLog.hlc)
    ]
    assert logged == [("audio", "declined", 0), ("video", "missed", 0)]


def test_a_posts_call_is_logged_by_the_post_not_by_central(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = in_work(data, "ivanova")
    medno = node_socket(app, data.posts[0][0], "kiosk-medno")
    ivanova = consultant_socket(app, "ivanova")
    ivanova.emit("call:join", {"appeal": appeal.id}, callback=True)
    call = "0b7d8f5e-4c1a-4a53-9d1e-0f3a0f6c2b11"
    placed = medno.emit(
        "call:place",
        {"call": call, "appeal": appeal.id, "mode": "video", "staff": feldsher(data).id},
        namespace=NODE,
        callback=True,
    )
    assert placed == {"ok": True, "call": call}
    assert ivanova.emit("call:answer", {"call": call}, callback=True) == {"ok": True}
    assert events(medno, "call:accepted", NODE) == [{"call": call, "appeal": appeal.id, "mode": "video"}]
    medno.disconnect(NODE)  # the post's link drops mid-call
    ended = [e for e in events(ivanova, "call:ended") if e["call"] == call]
    assert [(e["outcome"], e["detail"]) for e in ended] == [("completed", "connection lost")]
    assert rows(CallLog) == 0, "the post records the calls it placed; its row comes with the sync"


def test_a_consultant_cannot_call_a_post_that_is_not_linked(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = in_work(data, "ivanova")
    ivanova = consultant_socket(app, "ivanova")
    refused = ivanova.emit("call:place", {"appeal": appeal.id, "mode": "video"}, callback=True)
    assert refused == {"ok": False, "message": "Пост сейчас не на связи: напишите в чат"}
