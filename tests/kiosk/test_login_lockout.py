"""Login at the post: lock-out after repeated failures, and the idle timeout back to the login page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from node.auth import lockout
from sync.clock import utcnow
from sync.models import StaffCredential
from tests.kiosk.conftest import page_csrf


def _try(client, password: str, name: str = "fap1"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/session", json={"login": name, "password": password})


def test_five_failures_lock_the_login_for_fifteen_minutes(node_app, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client = app.test_client()
    for _ in range(lockout.MAX_FAILURES):
        response = _try(client, "wrong")
        assert response.status_code == 401
        assert response.get_json()["message"] == "Неверный логин или пароль"
    locked = _try(client, "demo1234")
    assert locked.status_code == 401
    body = locked.get_json()
    assert body["error"] == "login_locked"
    assert "Слишком много неудачных попыток входа" in body["message"] and "15 мин" in body["message"]
    # The page says the same, and another login is not affected.
    page = client.get("/login").get_data(as_text=True)
    form = client.post(
        "/login", data={"login": "FAP1", "password": "demo1234", "csrf_token": page_csrf(page)}
    )
    assert form.status_code == 401 and "Слишком много неудачных попыток" in form.get_data(as_text=True)
    assert _try(client, "wrong", "fap2").get_json()["message"] == "Неверный логин или пароль"
    # A name this kiosk does not know locks the same way: the answers do not tell it apart.
    for _ in range(lockout.MAX_FAILURES):
        assert _try(client, "demo1234", "nobody").get_json()["message"] == "Неверный логин или пароль"
    assert _try(client, "demo1234", "nobody").get_json() == _try(client, "demo1234").get_json()

    later = utcnow() + lockout.WINDOW + timedelta(seconds=1)
    monkeypatch.setattr(lockout, "utcnow", lambda: later)
    assert _try(client, "demo1234").status_code == 200
    assert lockout.LoginFailure.select().where(lockout.LoginFailure.login == "fap1").count() == 0


def test_before_the_first_sync_no_failure_counts(node_app) -> None:  # type: ignore[no-untyped-def]
    """With no credentials on the kiosk yet no password can be right: trying is not guessing."""
    app, _ = node_app
    with app.app_context():
        StaffCredential.update(deleted=True).execute()
    client = app.test_client()
    for _ in range(lockout.MAX_FAILURES + 1):
        assert _try(client, "demo1234").get_json()["error"] == "unauthorized"
    assert lockout.LoginFailure.select().count() == 0


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(
    node_app, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client = app.test_client()
    start = utcnow()
    for n in range(lockout.MAX_FAILURES + 2):
        moment = start + timedelta(minutes=4 * n)
        monkeypatch.setattr(lockout, "utcnow", lambda moment=moment: moment)
        assert _try(client, "wrong").get_json()["error"] == "unauthorized"
    assert _try(client, "demo1234").status_code == 200


def test_a_success_clears_the_count(node_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client = app.test_client()
    for _ in range(lockout.MAX_FAILURES - 1):
        _try(client, "wrong")
    assert _try(client, "demo1234").status_code == 200
    for _ in range(lockout.MAX_FAILURES - 1):
        _try(client, "wrong")
    assert _try(client, "demo1234").status_code == 200


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
