"""The consultant reads the appointment on their own clock, and on the post's where the two differ."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from domain.models import Organization, Region
from tests.helpers.appeals import login_page, new_appeal


def _slot_line(page: str) -> str:
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(page)))
    found = re.search(r"Время приёма (.*?) Создано", text)
    assert found, text
    return found.group(1).strip()


def test_the_appointment_in_the_consultants_zone_and_the_posts(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    appeal = new_appeal(data, minutes_ahead=120)
    assert appeal.slot is not None
    utc = appeal.slot.starts_at.replace(tzinfo=ZoneInfo("UTC"))
    moscow = utc.astimezone(ZoneInfo("Europe/Moscow"))
    client = app.test_client()
    login_page(client, "ivanova")  # her zone: Moscow

    same = _slot_line(client.get(f"/appeals/{appeal.id}").get_data(as_text=True))
    assert same == f"{moscow:%d.%m.%Y %H:%M} МСК"  # the post keeps Moscow time too: said once

    region = Organization.get_by_id(appeal.post_id).region
    Region.update(timezone="Asia/Yekaterinburg").where(Region.id == region.id).execute()
    there = utc.astimezone(ZoneInfo("Asia/Yekaterinburg"))
    shown = _slot_line(client.get(f"/appeals/{appeal.id}").get_data(as_text=True))
    when = f"{there:%H:%M}" if there.date() == moscow.date() else f"{there:%d.%m.%Y %H:%M}"
    assert shown == f"{moscow:%d.%m.%Y %H:%M} МСК ({when} по времени ФАП)"
    assert there - moscow == timedelta(0) and there.hour != moscow.hour
