"""«Взять в работу» too early: the refusal names the time in the consultant's own zone."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from domain.models import Appeal, AppealStatus, Staff
from tests.helpers.appeals import login_page, new_appeal


def test_too_early_names_the_time_in_the_consultants_zone(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    doctor = Staff.get_by_id(data.consultants["ivanova"])
    doctor.timezone = "Asia/Yekaterinburg"
    doctor.save()
    appeal = new_appeal(data, minutes_ahead=120)
    assert appeal.slot is not None
    earliest = (appeal.slot.starts_at - timedelta(minutes=15)).replace(tzinfo=ZoneInfo("UTC"))
    local = earliest.astimezone(ZoneInfo("Asia/Yekaterinburg")).strftime("%d.%m.%Y %H:%M")
    client = app.test_client()
    token = login_page(client, "ivanova")

    page = client.post(f"/appeals/{appeal.id}/take", data={"csrf_token": token}, follow_redirects=True)
    html = page.get_data(as_text=True)
    assert f"не ранее чем за 15 минут до приёма (с {local}\u00a0ЕКБ)" in html
    assert f"Можно взять в работу с {local}" in html and "UTC" not in html

    api = client.post(f"/api/v1/appeals/{appeal.id}/take", headers={"X-CSRF-Token": token})
    assert api.status_code == 409 and local in api.get_json()["message"]
    assert Appeal.get_by_id(appeal.id).status == AppealStatus.NEW
