"""Central's login as an attacker and an auditor would try it: sessions that really end, cookies
that do not outlive a shift, a guesser slowed down, passwords that are not guessable."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from central.auth import sessions
from central.auth.passwords import check_new_password
from domain.errors import ValidationError
from domain.models import Staff, StaffCredential
from tests.helpers.web import login

PASSWORD = "demo1234"
NEW = "ель-баржа-кувшин"


def _csrf(client: FlaskClient) -> str:
    page = client.get("/profile/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _admin(app):  # type: ignore[no-untyped-def]
    client = app.test_client()
    token = login(client, "admin")
    return client, token


def test_the_session_cookie_is_httponly_samesite_and_ends_within_12_hours(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client = app.test_client()
    response = client.post("/login", data={"login": "ivanova", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    expires = re.search(r"Expires=([^;]+)", cookie).group(1)  # type: ignore[union-attr]
    from email.utils import parsedate_to_datetime

    from sync.clock import utcnow

    lifetime = parsedate_to_datetime(expires).replace(tzinfo=None) - utcnow()
    assert timedelta(hours=11, minutes=50) < lifetime <= timedelta(hours=12, minutes=1)
    assert app.permanent_session_lifetime == timedelta(hours=12)


def test_over_https_behind_a_proxy_the_cookie_is_secure(tmp_path, seeded_template) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from central import create_app

    template, _ = seeded_template
    data_dir = tmp_path / "central"
    data_dir.mkdir()
    shutil.copyfile(template, data_dir / "central.db")
    app = create_app({"DATA_DIR": data_dir, "TESTING": True, "PROXY_HOPS": 1})
    response = app.test_client().post(
        "/login",
        data={"login": "ivanova", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
    )
    assert response.status_code == 302 and "Secure" in response.headers["Set-Cookie"]
    row = sessions.StaffSession.select().order_by(sessions.StaffSession.started_at.desc()).first()
    assert row.address == "203.0.113.7"  # the client's address, not the proxy's


def test_logout_ends_the_session_the_old_cookie_no_longer_works(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client = app.test_client()
    token = login(client, "ivanova")
    stolen = client.get_cookie("session").value  # type: ignore[union-attr]
    assert client.get("/api/v1/appeals").status_code == 200
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": token}).status_code == 204
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/api/v1/appeals").status_code == 401


def test_a_password_reset_and_a_deactivation_end_the_users_sessions(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    doctor = app.test_client()
    login(doctor, "smirnov")
    assert doctor.get("/api/v1/appeals").status_code == 200
    admin, token = _admin(app)
    staff_id = data.consultants["smirnov"]
    reset = admin.post(f"/admin/users/{staff_id}/password", data={"csrf_token": _csrf(admin)})
    assert reset.status_code == 200
    assert doctor.get("/api/v1/appeals").status_code == 401

    other = app.test_client()
    login(other, "kuznetsova")
    staff = Staff.get_by_id(data.consultants["kuznetsova"])
    from central.admin.users import set_active

    set_active(staff, False, staff_admin())
    assert other.get("/api/v1/appeals").status_code == 401


def staff_admin() -> Staff:
    return Staff.get(Staff.role == "admin")


def test_a_session_idle_for_30_minutes_or_older_than_12_hours_ends(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client = app.test_client()
    login(client, "ivanova")
    assert client.get("/api/v1/appeals").status_code == 200
    row = sessions.StaffSession.select().order_by(sessions.StaffSession.started_at.desc()).first()
    sessions.StaffSession.update(last_seen=row.last_seen - timedelta(minutes=31)).where(
        sessions.StaffSession.id_hash == row.id_hash
    ).execute()
    assert client.get("/api/v1/appeals").status_code == 401

    login(client, "ivanova")
    row = sessions.StaffSession.get(sessions.StaffSession.ended_at.is_null())
    sessions.StaffSession.update(started_at=row.started_at - timedelta(hours=12, minutes=1)).where(
        sessions.StaffSession.id_hash == row.id_hash
    ).execute()
    assert client.get("/api/v1/appeals").status_code == 401


def test_a_guesser_is_slowed_down_and_the_consultant_gets_in_a_minute_later(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    throttle = app.extensions["login_throttle"]
    client = app.test_client()
    answers = [
        client.post("/api/v1/session", json={"login": "ivanova", "password": f"guess-{n}"}).status_code
        for n in range(12)
    ]
    assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}
    right = client.post("/api/v1/session", json={"login": "ivanova", "password": PASSWORD})
    assert right.status_code == 429 and "повторите через" in right.get_json()["message"]
    page = client.post("/login", data={"login": "ivanova", "password": PASSWORD})
    assert page.status_code == 429 and "повторите через" in page.get_data(as_text=True)
    # From another address the consultant is not locked out by this guesser.
    elsewhere = app.test_client()
    ok = elsewhere.post(
        "/api/v1/session",
        json={"login": "ivanova", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "198.51.100.20"},
    )
    assert ok.status_code == 200
    # The windows are a minute long at most for the account: clearing them is what time does.
    throttle.limiter.storage.reset()
    assert client.post("/api/v1/session", json={"login": "ivanova", "password": PASSWORD}).status_code == 200


def test_many_addresses_against_one_account_are_limited_too(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client = app.test_client()
    codes = [
        client.post(
            "/api/v1/session",
            json={"login": "sokolova", "password": "nope"},
            environ_base={"REMOTE_ADDR": f"192.0.2.{n}"},
        ).status_code
        for n in range(1, 13)
    ]
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}


@pytest.mark.parametrize(
    "password, why",
    [
        ("short1", "не короче 10"),
        ("qwerty123456", "простой"),
        ("password2024", "слове «пароль»"),
        ("zaytseva2024!", "логине"),
        ("1111111111", "простой"),
    ],
)
def test_the_password_policy_refuses_short_and_guessable_passwords(password: str, why: str) -> None:
    with pytest.raises(ValidationError) as refused:
        check_new_password(password, login="zaytseva")
    assert why in refused.value.message


def test_the_password_policy_takes_a_long_unrelated_phrase() -> None:
    check_new_password("сосна-трамвай-пеликан", login="zaytseva")
    check_new_password("Kedr lodka 7 ozer", login="zaytseva")


def test_a_temporary_password_must_be_changed_before_anything_else(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    admin, _ = _admin(app)
    staff_id = data.consultants["popov"]
    page = admin.post(f"/admin/users/{staff_id}/password", data={"csrf_token": _csrf(admin)})
    temporary = re.search(r'class="temporary-password"[^>]*>([^<]+)<', page.get_data(as_text=True)).group(1)  # type: ignore[union-attr]

    doctor = app.test_client()
    assert doctor.post("/login", data={"login": "popov", "password": temporary}).status_code == 302
    queue = doctor.get("/appeals/")
    assert queue.status_code == 302 and queue.headers["Location"].endswith("/profile/password")
    api = doctor.get("/api/v1/appeals")
    assert api.status_code == 403 and api.get_json()["error"] == "password_change_required"
    form = doctor.get("/profile/password").get_data(as_text=True)
    assert "временный" in form
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    weak = doctor.post(
        "/profile/password",
        data={"csrf_token": token, "current": temporary, "password": "popov12345", "repeat": "popov12345"},
    )
    assert weak.status_code == 400
    done = doctor.post(
        "/profile/password",
        data={"csrf_token": token, "current": temporary, "password": NEW, "repeat": NEW},
    )
    assert done.status_code == 302
    assert doctor.get("/api/v1/appeals").status_code == 200
    credential = StaffCredential.get(StaffCredential.staff == staff_id)
    from web.auth import verify_password

    assert verify_password(credential.password_hash, NEW)
