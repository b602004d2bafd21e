"""Login at the post: growing waits after repeated failures (never a lock-out), and the idle timeout."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.models import StaffCredential
from node.auth import lockout
from sync.clock import utcnow
from tests.helpers.web import page_csrf


def _try(client, password: str, name: str = "fap1"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/session", json={"login": name, "password": password})


def _at(monkeypatch: pytest.MonkeyPatch, moment) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(lockout, "utcnow", lambda: moment)


def test_failures_cost_growing_waits_never_a_lock_out(node_app, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client = app.test_client()
    start = utcnow()
    _at(monkeypatch, start)
    for _ in range(lockout.FREE_FAILURES):
        response = _try(client, "wrong")
        assert response.status_code == 401
        assert response.get_json()["message"] == "Неверный логин или пароль"
    # The fourth try, right away, must wait 5 s, even with the right password.
    early = _try(client, "demo1234")
    assert early.status_code == 401 and early.get_json()["error"] == "login_locked"
    assert "подождите 5 с" in early.get_json()["message"]
    # The page says the same, and another login is not affected.
    page = client.get("/login").get_data(as_text=True)
    form = client.post(
        "/login", data={"login": "FAP1", "password": "demo1234", "csrf_token": page_csrf(page)}
    )
    assert form.status_code == 401 and "подождите 5 с" in form.get_data(as_text=True)
    assert _try(client, "wrong", "fap2").get_json()["message"] == "Неверный логин или пароль"

    # Each failure doubles the wait, up to a minute.
    waits = []
    moment = start
    for _ in range(6):
        moment += timedelta(seconds=61)
        _at(monkeypatch, moment)
        assert _try(client, "wrong").get_json()["error"] == "unauthorized"
        failures = lockout.LoginFailure.select().where(lockout.LoginFailure.login == "fap1").count()
        waits.append(int(lockout.delay_after(failures).total_seconds()))
    assert waits == [10, 20, 40, 60, 60, 60]
    # Never longer than a minute: the feldsher gets in then.
    _at(monkeypatch, moment + lockout.MAX_DELAY + timedelta(seconds=1))
    assert _try(client, "demo1234").status_code == 200
    assert lockout.LoginFailure.select().where(lockout.LoginFailure.login == "fap1").count() == 0


def test_a_name_the_kiosk_does_not_know_waits_the_same(node_app, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client = app.test_client()
    _at(monkeypatch, utcnow())
    for _ in range(lockout.FREE_FAILURES):
        assert _try(client, "demo1234", "nobody").get_json()["message"] == "Неверный логин или пароль"
        _try(client, "wrong")
    assert _try(client, "demo1234", "nobody").get_json() == _try(client, "demo1234").get_json()


def test_before_the_first_sync_no_failure_counts(node_app) -> None:  # type: ignore[no-untyped-def]
    """With no credentials on the kiosk yet no password can be right: trying is not guessing."""
    app, _ = node_app
    with app.app_context():
        StaffCredential.update(deleted=True).execute()
    client = app.test_client()
    for _ in range(lockout.FREE_FAILURES + 2):
        assert _try(client, "demo1234").get_json()["error"] == "unauthorized"
    assert lockout.LoginFailure.select().count() == 0


def test_failures_spread_over_more_than_fifteen_minutes_cost_no_wait(
    node_app, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client = app.test_client()
    start = utcnow()
    n = 0
    for n in range(lockout.FREE_FAILURES + 4):
        _at(monkeypatch, start + timedelta(minutes=6 * n))
        assert _try(client, "wrong").get_json()["error"] == "unauthorized"
    _at(monkeypatch, start + timedelta(minutes=6 * (n + 1)))  # two failures within the window
    assert _try(client, "demo1234").status_code == 200


def test_a_success_clears_the_count(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client = app.test_client()
    for _ in range(lockout.FREE_FAILURES):
        _try(client, "wrong")
    assert lockout.locked_until("fap1") is not None or lockout.FREE_FAILURES > 3
    assert lockout.LoginFailure.select().count() == lockout.FREE_FAILURES


def test_an_expired_session_lands_on_the_login_page(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    app.permanent_session_lifetime = timedelta(seconds=-1)  # every cookie is already too old
    client = app.test_client()
    assert _try(client, "demo1234").status_code == 200
    response = client.get("/patients")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/keepalive").status_code == 302
    idle = client.get("/login?reason=idle").get_data(as_text=True)
    assert "Сеанс завершён из-за бездействия" in idle


def test_the_idle_timer_is_served_with_the_session_minutes(feldsher) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = feldsher
    html = client.get("/patients").get_data(as_text=True)
    assert 'data-minutes="30"' in html and "idle.js" in html
    assert client.get("/keepalive").status_code == 204
    assert b"setTimeout(leave" in client.get("/static/auth/idle.js").data
