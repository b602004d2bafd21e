"""«Направления»: the consultant's own referrals by status and validity, a page at a time,
read through central's index (a centre has many)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from central.referrals import service
from central.referrals.service import ReferralFilter
from domain.models import Staff
from sync.db import database
from tests.helpers.appeals import login_page, new_appeal

from .referral_data import a_mix, issue

TODAY = date(2026, 12, 7)
NOW = datetime(2026, 12, 7, 9, 30)


def _justifications(staff: Staff, filters: ReferralFilter, page: int = 1) -> list[str]:
    return [r.justification for r in service.issued_by(staff, filters, TODAY, page).referrals]


def test_the_list_is_the_consultants_own_referrals_filtered_by_status_and_validity(central_app) -> None:  # type: ignore[no-untyped-def]
    _, data = central_app
    a_mix(new_appeal(data), data, TODAY, NOW)
    ivanova = Staff.get_by_id(data.consultants["ivanova"])

    everything = _justifications(ivanova, ReferralFilter())
    assert everything == [
        "Контроль ЭКГ",
        "Наблюдение невролога",
        "Уже записан",
        "Отменено врачом",
        "Старое направление",
    ]
    assert _justifications(ivanova, ReferralFilter(status="used")) == ["Уже записан"]
    assert _justifications(ivanova, ReferralFilter(status="cancelled")) == ["Отменено врачом"]
    assert _justifications(ivanova, ReferralFilter(validity="valid")) == [
        "Контроль ЭКГ",
        "Наблюдение невролога",
    ]
    assert _justifications(ivanova, ReferralFilter(validity="expired")) == ["Старое направление"]
    indefinite = ReferralFilter(validity="indefinite")
    assert _justifications(ivanova, indefinite) == ["Наблюдение невролога", "Уже записан", "Отменено врачом"]
    both = ReferralFilter(status="active", validity="indefinite")
    assert _justifications(ivanova, both) == ["Наблюдение невролога"]
    # Valid through its last day, in the consultant's zone; expired the day after.
    last_day = service.issued_by(
        ivanova, ReferralFilter(validity="valid"), TODAY + timedelta(days=30)
    ).referrals
    assert [r.justification for r in last_day] == ["Контроль ЭКГ", "Наблюдение невролога"]
    next_day = service.issued_by(ivanova, ReferralFilter(validity="expired"), TODAY + timedelta(days=31))
    assert [r.justification for r in next_day.referrals] == ["Контроль ЭКГ", "Старое направление"]


def test_the_list_is_paged_newest_first(central_app) -> None:  # type: ignore[no-untyped-def]
    _, data = central_app
    appeal = new_appeal(data)
    for n in range(service.PER_PAGE + 3):
        issue(appeal, "ivanova", data, justification=f"Направление {n}", created_at=NOW - timedelta(hours=n))
    ivanova = Staff.get_by_id(data.consultants["ivanova"])

    first = service.issued_by(ivanova, ReferralFilter(), TODAY)
    assert (first.page, first.pages, first.total) == (1, 2, service.PER_PAGE + 3)
    assert first.referrals[0].justification == "Направление 0" and len(first.referrals) == service.PER_PAGE
    second = service.issued_by(ivanova, ReferralFilter(), TODAY, page=2)
    assert [r.justification for r in second.referrals] == [f"Направление {n}" for n in (25, 26, 27)]
    assert service.issued_by(ivanova, ReferralFilter(), TODAY, page=99).page == 2  # past the end: the last


def test_a_page_is_read_through_the_author_index_without_sorting(central_app) -> None:  # type: ignore[no-untyped-def]
    _, data = central_app
    ivanova = Staff.get_by_id(data.consultants["ivanova"])
    for filters in (ReferralFilter(), ReferralFilter(status="active", validity="valid")):
        sql, params = service.page_query(ivanova, filters, TODAY, page=3).sql()
        plan = " | ".join(str(row[-1]) for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
        assert service.INDEX_NAME in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # the index gives the order: no sort of all the rows


def test_an_unknown_filter_is_refused_in_words(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    client = app.test_client()
    login_page(client, "ivanova")
    page = client.get("/referrals?status=lost").get_data(as_text=True)
    assert "Неизвестный статус направления" in page
    api = client.get("/api/v1/referrals?validity=soon")
    assert api.status_code == 400 and api.get_json()["message"] == "Неизвестный срок действия направления"


def test_the_api_lists_what_the_page_lists(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client = app.test_client()
    login_page(client, "ivanova")
    appeal = new_appeal(data)
    issue(appeal, "ivanova", data, justification="Контроль ЭКГ", created_at=NOW)
    issue(appeal, "smirnov", data, justification="Направление Смирнова", created_at=NOW)
    body = client.get("/api/v1/referrals?validity=valid").get_json()
    assert body["total"] == 1 and body["pages"] == 1
    (only,) = body["referrals"]
    assert only["justification"] == "Контроль ЭКГ" and only["valid_today"] is True
    assert only["patient"]["full_name"] == "Кузьмин Пётр Васильевич" and only["source_appeal"] == appeal.id
