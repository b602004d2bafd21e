"""Queue filters: form of care, specialty, post and date — on the page and in the JSON API."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from central.appeals import paging
from central.appeals.filters import QueueFilter
from domain.errors import ValidationError
from domain.models import Appeal, Staff
from domain.models.appeal_queries import QUEUE_LISTS
from sync.clock import utcnow
from tests.helpers.chat import appeal_to, appeal_to_specialty
from tests.helpers.web import login

MOSCOW = ZoneInfo("Europe/Moscow")


def _local_day(moment: datetime) -> date:
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(MOSCOW).date()


def _when(appeal: Appeal) -> datetime:
    """The appeal's date: its reception time, or when it was made."""
    return appeal.slot.starts_at if appeal.slot_id else appeal.created_at


def _ids(staff: Staff, filters: QueueFilter) -> set[str]:
    """Every appeal of the consultant's lists under `filters`."""
    now = utcnow()
    return {
        appeal.id
        for name in ("all_new", "in_work", "closed")
        for appeal in paging.page(staff, QUEUE_LISTS[name], now, filters=filters, limit=200).appeals
    }


def test_each_filter_narrows_the_consultants_queues(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    ivanova = Staff.get_by_id(data.consultants["ivanova"])
    planned = appeal_to(data, "ivanova", minutes_ahead=60)
    urgent = appeal_to_specialty(data)
    from_kushalino = appeal_to(data, "ivanova", minutes_ahead=90, patient="Кузьмин Пётр Васильевич@2")
    with app.test_request_context("/"):
        everything = _ids(ivanova, QueueFilter())
        assert {planned.id, urgent.id, from_kushalino.id} <= everything
        assert _ids(ivanova, QueueFilter(form_of_care="urgent")) == {urgent.id}
        post1 = QueueFilter(post=data.posts[0][0])
        assert _ids(ivanova, post1) == {planned.id, urgent.id}
        neurology = QueueFilter(specialty=Staff.get_by_id(data.consultants["kuznetsova"]).specialty_id)
        assert _ids(ivanova, neurology) == set()
        # The slots are an hour or so ahead: late in Moscow's evening they fall on tomorrow.
        today = _local_day(utcnow())
        made = (planned, urgent, from_kushalino)
        made_today = {a.id for a in made if _local_day(_when(a)) == today}
        made_tomorrow = {a.id for a in made if _local_day(_when(a)) == today + timedelta(days=1)}
        assert urgent.id in made_today  # made just now, and it has no slot
        assert made_today | made_tomorrow == {a.id for a in made}
        assert _ids(ivanova, QueueFilter(day=today, zone=MOSCOW)) == made_today
        tomorrow = QueueFilter(day=today + timedelta(days=1), zone=MOSCOW)
        assert _ids(ivanova, tomorrow) == made_tomorrow
        after = QueueFilter(day=today + timedelta(days=2), zone=MOSCOW)
        assert _ids(ivanova, after) == set()


def test_a_slot_date_is_the_appeals_date(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    ivanova = Staff.get_by_id(data.consultants["ivanova"])
    later = appeal_to(data, "ivanova", minutes_ahead=3 * 24 * 60)
    slot_day = _local_day(later.slot.starts_at)
    with app.test_request_context("/"):
        assert _ids(ivanova, QueueFilter(day=slot_day, zone=MOSCOW)) == {later.id}


def test_the_page_keeps_the_filters_and_the_api_takes_the_same_parameters(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    planned = appeal_to(data, "ivanova", minutes_ahead=60)
    urgent = appeal_to_specialty(data)
    http = app.test_client()
    login(http, "ivanova")
    page = http.get("/appeals?queue=new&form_of_care=urgent").get_data(as_text=True)
    assert "Форма оказания помощи" in page and "Специальность" in page and "ФАП" in page and "Дата" in page
    assert '<option value="urgent" selected>' in page and "Сбросить фильтры" in page
    assert urgent.id in page and planned.id not in page
    api = http.get("/api/v1/appeals?queue=new&form_of_care=planned").get_json()
    assert [a["id"] for a in api["appeals"]] == [planned.id]
    assert api["counts"]["new"] == 1
    by_post = http.get(f"/api/v1/appeals?queue=new&post={data.posts[1][0]}").get_json()
    assert by_post["appeals"] == []
    bad = http.get("/api/v1/appeals?queue=new&date=31.02.2025")
    assert bad.status_code == 400 and bad.get_json()["field"] == "date"
    page_bad = http.get("/appeals?date=завтра").get_data(as_text=True)
    assert "Дата указана неверно" in page_bad and urgent.id in page_bad


def test_filters_are_checked() -> None:
    assert QueueFilter.from_args({"date": "2025-03-01", "post": " p "}).as_args() == {
        "date": "2025-03-01",
        "post": "p",
    }
    assert QueueFilter.from_args({}).active is False
    assert QueueFilter.from_args({"date": "2025-03-01"}).day == date(2025, 3, 1)
    with pytest.raises(ValidationError) as refused:
        QueueFilter.from_args({"form_of_care": "срочно"})
    assert refused.value.field == "form_of_care"
