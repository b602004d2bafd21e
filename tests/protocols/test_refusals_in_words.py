"""The services refuse in domain errors; the page and the JSON API each say the same reason.

«Маршрутизация» of an appeal one may not route, and «Взять в работу» too early: the
page names the reason (404/403/409 as before), the API answers the same words in JSON.
"""

from __future__ import annotations

import html
from typing import Any

from domain.models import Appeal, AppealStatus, Referral, Specialty
from tests.helpers.appeals import closed, login_page, new_appeal
from tests.helpers.data import rows


def _page_says(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_routing_refusals_name_their_reason_on_the_page_and_in_the_api(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    appeal, _ = closed(app.test_client(), data)
    neurology = Specialty.get(Specialty.name == "Неврология")
    body = {"specialty": neurology.id, "indefinite": True, "justification": "Головокружение"}

    still_new = new_appeal(data, minutes_ahead=120)
    owner = app.test_client()
    token = login_page(owner, "ivanova")
    page = owner.get(f"/appeals/{still_new.id}/routing")
    reason = "Маршрутизация доступна для обращений в работе и закрытых"
    assert page.status_code == 404 and f"<title>{reason}" in _page_says(page)
    api = owner.post(f"/api/v1/appeals/{still_new.id}/referrals", json=body, headers={"X-CSRF-Token": token})
    assert api.status_code == 404
    assert api.get_json() == {"error": "not_found", "message": reason}

    stranger = app.test_client()
    token = login_page(stranger, "kuznetsova")  # another specialty: the appeal is not hers to see
    page = stranger.get(f"/appeals/{appeal.id}/routing")
    assert page.status_code == 404 and "Страница не найдена" in _page_says(page)
    api = stranger.post(f"/api/v1/appeals/{appeal.id}/referrals", json=body, headers={"X-CSRF-Token": token})
    assert api.status_code == 404 and api.get_json()["error"] == "not_found"
    assert rows(Referral) == 0


def test_taking_too_early_is_refused_in_the_same_words_by_the_page_and_the_api(central) -> None:  # type: ignore[no-untyped-def]
    app, data = central
    appeal = new_appeal(data, minutes_ahead=120)
    client = app.test_client()
    token = login_page(client, "ivanova")

    api = client.post(f"/api/v1/appeals/{appeal.id}/take", headers={"X-CSRF-Token": token})
    assert api.status_code == 409
    message = api.get_json()["message"]
    assert message.startswith("Обращение можно взять в работу не ранее чем за 15 минут до приёма")
    page = client.post(f"/appeals/{appeal.id}/take", data={"csrf_token": token}, follow_redirects=True)
    assert message in _page_says(page)
    assert Appeal.get_by_id(appeal.id).status == AppealStatus.NEW

    unseen = app.test_client()
    token = login_page(unseen, "kuznetsova")
    assert unseen.post(f"/appeals/{appeal.id}/take", data={"csrf_token": token}).status_code == 404
    api = unseen.post(f"/api/v1/appeals/{appeal.id}/take", headers={"X-CSRF-Token": token})
    assert api.status_code == 404 and api.get_json()["error"] == "not_found"
    assert Appeal.get_by_id(appeal.id).status == AppealStatus.NEW
