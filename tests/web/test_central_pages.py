"""The consultant in a browser-less client: queues, «Взять в работу», «Протокол», PDF."""

from __future__ import annotations

import re
import subprocess

from domain.models import Appeal, AppealStatus, Diagnosis, Protocol
from tests.helpers.data import appeal_from_post, rows
from tests.helpers.web import login


def test_login_page_and_wrong_password(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client = app.test_client()
    assert "Вход в личный кабинет" in client.get("/login").get_data(as_text=True)
    wrong = client.post("/login", data={"login": "ivanova", "password": "x"})
    assert wrong.status_code == 401 and "Неверный логин или пароль" in wrong.get_data(as_text=True)
    feldsher = client.post("/login", data={"login": "fap1", "password": "demo1234"})
    assert feldsher.status_code == 401


def test_pages_need_a_login(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client = app.test_client()
    response = client.get("/appeals")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/api/v1/appeals").status_code == 401


def test_the_new_appeal_shows_in_the_queue_and_is_taken_and_closed(central_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = appeal_from_post(data)
    client = app.test_client()
    client.post("/login", data={"login": "ivanova", "password": "demo1234"})
    queue = client.get("/appeals?queue=new").get_data(as_text=True)
    assert "Новые обращения" in queue and "Кузьмин Пётр Васильевич" in queue
    card = client.get(f"/appeals/{appeal.id}").get_data(as_text=True)
    assert "Взять в работу" in card and "Повышение АД до 180/100" in card
    token = re.search(r'name="csrf-token" content="([^"]+)"', card).group(1)  # type: ignore[union-attr]
    taken = client.post(f"/appeals/{appeal.id}/take", data={"csrf_token": token}, follow_redirects=True)
    assert "Обращение взято в работу" in taken.get_data(as_text=True)
    assert Appeal.get_by_id(appeal.id).status == AppealStatus.IN_WORK
    form = {
        "csrf_token": token,
        "anamnesis": "АГ 10 лет",
        "recommendations": "",
        "additional_recommendations": "",
        "diagnosis_code": ["I10"],
        "diagnosis_title": ["Эссенциальная гипертензия"],
    }
    refused = client.post(f"/appeals/{appeal.id}/protocol", data=form)
    assert refused.status_code == 400
    assert "Заполните поле «Рекомендации»" in refused.get_data(as_text=True)
    assert rows(Protocol) == 0 and Appeal.get_by_id(appeal.id).status == AppealStatus.IN_WORK
    form["recommendations"] = "Лозартан 50 мг утром; контроль АД дважды в день"
    sent = client.post(f"/appeals/{appeal.id}/protocol", data=form, follow_redirects=True)
    assert "Протокол отправлен" in sent.get_data(as_text=True)
    assert Appeal.get_by_id(appeal.id).status == AppealStatus.CLOSED
    assert [d.code for d in Diagnosis.select()] == ["I10"]
    closed = client.get("/appeals?queue=closed").get_data(as_text=True)
    assert "Кузьмин Пётр Васильевич" in closed
    pdf = client.get(f"/appeals/{appeal.id}/protocol.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    path = tmp_path / "p.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Лозартан 50 мг утром" in text and "Кузьмин Пётр Васильевич" in text


def test_taking_too_early_is_refused_with_the_time(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = appeal_from_post(data, minutes_ahead=120)
    client = app.test_client()
    token = login(client, "ivanova")
    response = client.post(f"/api/v1/appeals/{appeal.id}/take", headers={"X-CSRF-Token": token})
    assert response.status_code == 409
    assert "не ранее чем за 15 минут" in response.get_json()["message"]
    assert Appeal.get_by_id(appeal.id).status == AppealStatus.NEW


def test_another_specialty_does_not_see_the_appeal(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = appeal_from_post(data)
    client = app.test_client()
    token = login(client, "kuznetsova")
    assert client.get(f"/api/v1/appeals/{appeal.id}").status_code == 404
    assert (
        client.post(f"/api/v1/appeals/{appeal.id}/take", headers={"X-CSRF-Token": token}).status_code == 404
    )
    listed = client.get("/api/v1/appeals?queue=new").get_json()["appeals"]
    assert appeal.id not in [a["id"] for a in listed]


def test_api_protocol_errors_are_clear_json(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = appeal_from_post(data)
    client = app.test_client()
    token = login(client, "ivanova")
    headers = {"X-CSRF-Token": token}
    early = client.post(
        f"/api/v1/appeals/{appeal.id}/protocol", json={"recommendations": "x"}, headers=headers
    )
    assert early.status_code == 409 and "в работе" in early.get_json()["message"]
    client.post(f"/api/v1/appeals/{appeal.id}/take", headers=headers)
    empty = client.post(
        f"/api/v1/appeals/{appeal.id}/protocol", json={"recommendations": " "}, headers=headers
    )
    assert empty.status_code == 400 and empty.get_json()["field"] == "recommendations"
    no_csrf = client.post(f"/api/v1/appeals/{appeal.id}/protocol", json={"recommendations": "x"})
    assert no_csrf.status_code == 400 and no_csrf.get_json()["error"] == "csrf"
    assert rows(Protocol) == 0


def test_english_is_available(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client = app.test_client()
    html = client.get("/login?lang=en").get_data(as_text=True)
    assert 'lang="en"' in html and "Sign in to your workspace" in html
    assert "Вход в личный кабинет" not in html
    wrong = client.post("/login", data={"login": "ivanova", "password": "x"})
    assert "Incorrect login or password" in wrong.get_data(as_text=True)
    back = client.get("/login?lang=ru").get_data(as_text=True)
    assert "Вход в личный кабинет" in back


def test_central_serves_its_openapi(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert {
        "/api/v1/appeals",
        "/api/v1/appeals/{appeal_id}/take",
        "/api/v1/appeals/{appeal_id}/protocol",
    } <= set(spec["paths"])
    assert spec["components"]["schemas"]["Error"]["required"] == ["error", "message"]


def test_a_locked_database_is_a_clear_retry_and_nothing_changes(central_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from sync.db import database

    app, data = central_app
    appeal = appeal_from_post(data)
    client = app.test_client()
    token = login(client, "ivanova")
    # Wait 0.2 s for the lock instead of 10 s, so that the test is quick.
    pragmas = [(k, 200 if k == "busy_timeout" else v) for k, v in database.obj._pragmas]
    monkeypatch.setattr(database.obj, "_pragmas", pragmas)
    holder = sqlite3.connect(app.config["DATABASE_URL"].removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holding the lock, e.g. a long sync apply
    try:
        busy = client.post(f"/appeals/{appeal.id}/take", data={"csrf_token": token})
        page = busy.get_data(as_text=True)
        assert busy.status_code == 503
        assert "Сервер занят. Повторите попытку через несколько секунд." in page
        api = client.post(f"/api/v1/appeals/{appeal.id}/take", headers={"X-CSRF-Token": token})
        assert api.status_code == 503 and "Сервер занят" in api.get_json()["message"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert Appeal.get_by_id(appeal.id).status == AppealStatus.NEW
    retried = client.post(f"/appeals/{appeal.id}/take", data={"csrf_token": token}, follow_redirects=True)
    assert "Обращение взято в работу" in retried.get_data(as_text=True)
    assert Appeal.get_by_id(appeal.id).status == AppealStatus.IN_WORK
