"""ICE servers: set on central and the node (FAPLINK_ICE_SERVERS), checked at start-up, given to pages."""

from __future__ import annotations

import shutil

import pytest

from sync.db import database
from tests.helpers.chat import in_work
from tests.helpers.web import login
from web.calls import IceServersError, check_ice_servers

TURN = '[{"urls": "turn:turn.example.ru:3478", "username": "fap", "credential": "s3cret"}]'


def test_ice_servers_are_checked_with_a_readable_error() -> None:
    turn = [{"urls": ["turn:turn.example.ru:3478"], "username": "fap", "credential": "s3cret"}]
    assert check_ice_servers('[{"urls": "stun:stun.example.ru:3478"}]') == [
        {"urls": "stun:stun.example.ru:3478"}
    ]
    assert check_ice_servers(turn) == turn
    assert check_ice_servers("") == []
    for bad, why in [
        ("{not json", "not valid JSON"),
        ({"urls": "stun:x"}, "must be a JSON list"),
        ([{"url": "stun:x"}], "unknown keys ['url']"),
        ([{"urls": "http://x"}], "is not a stun:, turn: or turns: URL"),
        ([{"urls": "turn:x:3478"}], "needs «username» and «credential»"),
    ]:
        with pytest.raises(IceServersError, match=".*" + why.replace("[", r"\[").replace("]", r"\]")):
            check_ice_servers(bad)


def test_ice_servers_from_the_environment_reach_the_consultants_page(
    tmp_path, seeded_template, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from central import create_app

    template, data = seeded_template
    (tmp_path / "c").mkdir()
    shutil.copyfile(template, tmp_path / "c" / "central.db")
    monkeypatch.setenv("FAPLINK_ICE_SERVERS", TURN)
    try:
        app = create_app({"DATA_DIR": tmp_path / "c", "TESTING": True})
        turn = [{"urls": "turn:turn.example.ru:3478", "username": "fap", "credential": "s3cret"}]
        assert app.config["ICE_SERVERS"] == turn
        with app.app_context():
            appeal = in_work(data, "ivanova")
        http = app.test_client()
        login(http, "ivanova")
        page = http.get(f"/appeals/{appeal.id}").get_data(as_text=True)
        assert "turn:turn.example.ru:3478" in page
        assert http.get(f"/api/v1/appeals/{appeal.id}/calls").get_json()["ice_servers"] == turn
        monkeypatch.setenv("FAPLINK_ICE_SERVERS", '[{"urls": "turn:turn.example.ru:3478"}]')
        with pytest.raises(IceServersError, match="needs «username» and «credential»"):
            create_app({"DATA_DIR": tmp_path / "c", "TESTING": True})
    finally:
        database.close()


@pytest.fixture
def turn_in_environment(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FAPLINK_ICE_SERVERS", TURN)


def test_the_node_takes_ice_servers_from_its_environment_too(turn_in_environment, node_app) -> None:  # type: ignore[no-untyped-def]
    from domain.models import Appeal, AppealStatus
    from tests.helpers.chat import appeal_to

    app, data = node_app
    assert app.config["ICE_SERVERS"][0]["urls"] == "turn:turn.example.ru:3478"
    appeal = appeal_to(data, "ivanova")
    Appeal.update(status=AppealStatus.IN_WORK, taken_by=appeal.consultant_id).where(
        Appeal.id == appeal.id
    ).execute()
    http = app.test_client()
    login(http, "fap1")
    assert "turn:turn.example.ru:3478" in http.get(f"/appeals/{appeal.id}").get_data(as_text=True)
