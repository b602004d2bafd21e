"""The consultant's queue a page at a time: every appeal once and in order, filters, cursors that
cannot be forged, bounded counters, «Показать ещё», and the rows a live page is patched with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from central.appeals import paging
from domain.models import Appeal, AppealStatus
from sync.clock import utcnow
from tests.helpers.queue import appeal, other_region_post, staff
from tests.helpers.web import login

MOSCOW = ZoneInfo("Europe/Moscow")


@dataclass
class Lists:
    """What Иванова (cardiology) must see in each list, in order, and what she must not."""

    overdue: list[Appeal]
    new: list[Appeal]
    in_work: list[Appeal]
    closed: list[Appeal]
    hidden: list[Appeal]

    @property
    def all_new(self) -> list[Appeal]:
        return self.overdue + self.new


def _by_deadline(appeals: list[Appeal]) -> list[Appeal]:
    return sorted(appeals, key=lambda a: (a.due_at, a.id))


def _newest_closed_first(appeals: list[Appeal]) -> list[Appeal]:
    return sorted(appeals, key=lambda a: (a.closed_at, a.id), reverse=True)


@pytest.fixture
def lists(central_app) -> Lists:  # type: ignore[no-untyped-def]
    """Appeals reaching Иванова in every way, with deadlines shared by several (the id decides),
    and others she must not see: another specialty, another region, a tombstone, a cancelled one."""
    _, data = central_app
    now = utcnow()
    ivanova, smirnov, kuznetsova = staff(data, "ivanova"), staff(data, "smirnov"), staff(data, "kuznetsova")
    overdue, new, in_work, closed, hidden = [], [], [], [], []
    for n in range(7):
        overdue.append(appeal(data, due_at=now - timedelta(hours=1 + n // 3)))
    for n in range(11):  # to the specialty, to her by name, and one she booked herself
        due = now + timedelta(hours=2 + n // 3)
        if n % 4 == 0:
            new.append(appeal(data, due_at=due, consultant=ivanova))
        elif n == 5:
            new.append(appeal(data, due_at=due, consultant=smirnov, author=ivanova))
        else:
            new.append(appeal(data, due_at=due, form="planned" if n % 2 else "urgent"))
    new.append(appeal(data, due_at=now + timedelta(days=3), consultant=ivanova, form="planned"))
    for n in range(6):
        taker = ivanova if n % 3 else smirnov  # Смирнов's are open to the specialty: she sees them
        in_work.append(
            appeal(data, due_at=now + timedelta(hours=n), taken_by=taker, status=AppealStatus.IN_WORK)
        )
    for n in range(9):
        when = now - timedelta(days=1 + n // 2)
        closed.append(
            appeal(
                data,
                due_at=when - timedelta(hours=3),
                taken_by=ivanova,
                consultant=ivanova if n % 2 else None,
                status=AppealStatus.CLOSED,
                closed_at=when,
            )
        )
    hidden.append(
        appeal(data, due_at=now + timedelta(hours=3), specialty="Неврология", consultant=kuznetsova)
    )
    hidden.append(appeal(data, due_at=now + timedelta(hours=3), consultant=smirnov))  # named to another
    hidden.append(appeal(data, due_at=now + timedelta(hours=3), post=other_region_post()))
    gone = appeal(data, due_at=now + timedelta(hours=3))
    gone.deleted = True
    gone.save()
    hidden.append(gone)
    hidden.append(appeal(data, due_at=now + timedelta(hours=3), status=AppealStatus.CANCELLED))
    return Lists(
        _by_deadline(overdue), _by_deadline(new), _by_deadline(in_work), _newest_closed_first(closed), hidden
    )


def _walk(http: Any, queue: str, limit: int, **filters: str) -> list[str]:
    """Every appeal of a list through the API, page after page by the `next` cursor."""
    ids: list[str] = []
    after = None
    for _ in range(100):
        params = {"queue": queue, "limit": str(limit), **filters, **({"after": after} if after else {})}
        body = http.get("/api/v1/appeals", query_string=params).get_json()
        assert len(body["appeals"]) <= limit
        ids += [a["id"] for a in body["appeals"]]
        after = body["next"]
        if after is None:
            return ids
    raise AssertionError("the pages never end")


def _ids(appeals: list[Appeal]) -> list[str]:
    return [a.id for a in appeals]


def test_paging_through_each_list_gives_every_appeal_once_in_order(central_app, lists: Lists) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    http = app.test_client()
    login(http, "ivanova")
    for queue, expected in (
        ("new", lists.all_new),
        ("overdue", lists.overdue),
        ("in_work", lists.in_work),
        ("closed", lists.closed),
    ):
        for limit in (1, 4, 200):
            assert _walk(http, queue, limit) == _ids(expected), (queue, limit)
    body = http.get("/api/v1/appeals?queue=new").get_json()
    assert body["counts"] == {
        "overdue": len(lists.overdue),
        "new_not_overdue": len(lists.new),
        "new": len(lists.all_new),
        "in_work": len(lists.in_work),
        "closed": len(lists.closed),
    }
    assert body["count_limit"] == paging.COUNT_LIMIT
    shown = set(_walk(http, "new", 200) + _walk(http, "in_work", 200) + _walk(http, "closed", 200))
    assert not shown & set(_ids(lists.hidden))


def test_rows_that_change_between_pages_neither_repeat_nor_hide_others(central_app, lists: Lists) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    http = app.test_client()
    login(http, "ivanova")
    first = http.get("/api/v1/appeals?queue=closed&limit=3").get_json()
    assert [a["id"] for a in first["appeals"]] == _ids(lists.closed[:3])
    # Meanwhile one more is closed (the newest: on page one, which was read) and an old one arrives.
    now = utcnow()
    fresh = appeal(
        data, due_at=now, taken_by=staff(data, "ivanova"), status=AppealStatus.CLOSED, closed_at=now
    )
    oldest = appeal(
        data,
        due_at=now - timedelta(days=90),
        taken_by=staff(data, "ivanova"),
        status=AppealStatus.CLOSED,
        closed_at=now - timedelta(days=89),
    )
    rest: list[str] = []
    after = first["next"]
    while after:
        body = http.get(
            "/api/v1/appeals", query_string={"queue": "closed", "limit": "3", "after": after}
        ).get_json()
        rest += [a["id"] for a in body["appeals"]]
        after = body["next"]
    assert rest == _ids(lists.closed[3:]) + [oldest.id]
    assert fresh.id not in rest


def test_filters_by_status_specialty_deadline_form_and_post(central_app, lists: Lists) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    http = app.test_client()
    login(http, "ivanova")
    cardiology = staff(data, "ivanova").specialty_id
    neurology = staff(data, "kuznetsova").specialty_id
    assert _walk(http, "new", 5, specialty=cardiology) == _ids(lists.all_new)
    assert _walk(http, "new", 5, specialty=neurology) == []
    planned = [a for a in lists.all_new if a.form_of_care == "planned"]
    assert planned and _walk(http, "new", 2, form_of_care="planned") == _ids(planned)
    assert _walk(http, "in_work", 2, post=data.posts[1][0]) == []

    # «Срок ответа до»: deadlines on that local day or earlier.
    def local_day(moment: datetime) -> date:
        return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(MOSCOW).date()

    due_by = local_day(utcnow())
    expected = [a for a in lists.all_new if local_day(a.due_at) <= due_by]
    assert set(_ids(lists.overdue)) <= set(_ids(expected)) and lists.new[-1] not in expected
    assert _walk(http, "new", 3, due_by=due_by.isoformat()) == _ids(expected)
    assert _walk(http, "closed", 3, due_by=due_by.isoformat()) == _ids(lists.closed)

    # An administrator sees every specialty; the filter narrows it to one.
    login(http, "admin")
    assert set(_walk(http, "new", 7, specialty=neurology)) == {lists.hidden[0].id}
    assert http.get("/api/v1/appeals?queue=cancelled").status_code == 400
    bad = http.get("/api/v1/appeals?queue=new&due_by=31.02.2025")
    assert bad.status_code == 400 and bad.get_json()["field"] == "due_by"


def test_a_cursor_that_was_changed_or_is_another_lists_is_refused(central_app, lists: Lists) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    http = app.test_client()
    login(http, "ivanova")
    cursor = http.get("/api/v1/appeals?queue=closed&limit=2").get_json()["next"]
    assert cursor
    payload, signature = cursor.rsplit(".", 1)
    forged = [
        payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature,  # another position
        payload + "." + signature[::-1],
        "not-a-cursor",
        "",
    ]
    for after in forged:
        response = http.get("/api/v1/appeals", query_string={"queue": "closed", "after": after})
        if after == "":
            assert response.status_code == 200  # no cursor: the first page
            continue
        assert response.status_code == 400, after
        assert response.get_json()["field"] == "after"
    other_list = http.get("/api/v1/appeals", query_string={"queue": "new", "after": cursor})
    assert other_list.status_code == 400 and "откройте список заново" in other_list.get_json()["message"]
    for limit in ("0", "201", "много"):
        assert http.get(f"/api/v1/appeals?queue=new&limit={limit}").get_json()["field"] == "limit"
    page = http.get("/appeals", query_string={"queue": "closed", "section": "closed", "after": forged[0]})
    assert page.status_code == 400 and "откройте список заново" in page.get_data(as_text=True)


def test_counters_stop_past_the_limit_and_say_more(central_app, lists: Lists, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    monkeypatch.setattr(paging, "COUNT_LIMIT", 8)
    http = app.test_client()
    login(http, "ivanova")
    body = http.get("/api/v1/appeals?queue=closed").get_json()
    assert len(lists.all_new) > 9 and len(lists.closed) == 9
    assert body["counts"]["new"] == 9 and body["counts"]["closed"] == 9 and body["count_limit"] == 8
    assert body["counts"]["overdue"] == len(lists.overdue) == 7
    page = http.get("/appeals?queue=new").get_data(as_text=True)
    nav = re.search(r'<a [^>]*>Новые обращения <span class="badge" data-count="new">([^<]*)</span>', page)
    assert nav and nav.group(1) == "больше 8"
    assert '<span class="badge overdue" data-count="overdue">7</span>' in page


def test_the_page_shows_a_first_page_and_shows_more(central_app, lists: Lists, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    monkeypatch.setattr(paging, "PAGE_SIZE", 4)
    http = app.test_client()
    login(http, "ivanova")
    page = http.get("/appeals?queue=closed").get_data(as_text=True)
    assert re.findall(r'data-row="([^"]+)"', page) == _ids(lists.closed[:4])
    more = re.search(r'<a class="button" href="([^"]+)" data-more="([^"]+)">Показать ещё</a>', page)
    assert more
    page_url, rows_url = (m.replace("&amp;", "&") for m in more.groups())

    # Without a script the link is the next page; with one, its rows come rendered.
    second = http.get(page_url).get_data(as_text=True)
    assert re.findall(r'data-row="([^"]+)"', second) == _ids(lists.closed[4:8])
    assert "К началу списка" in second
    rows = http.get(rows_url).get_json()
    assert [r["id"] for r in rows["rows"]] == _ids(lists.closed[4:8])
    assert all(r["list"] == "closed" and f'data-row="{r["id"]}"' in r["html"] for r in rows["rows"])
    assert rows["more"] is not None
    last = http.get(rows["more"]["rows"]).get_json()
    assert [r["id"] for r in last["rows"]] == _ids(lists.closed[8:]) and last["more"] is None
    keys = [r["key"] for r in rows["rows"] + last["rows"]]
    assert keys == sorted(keys, reverse=True)  # the text order the page's script inserts by

    new_page = http.get("/appeals?queue=new").get_data(as_text=True)
    assert re.findall(r'data-row="([^"]+)"', new_page) == _ids(lists.overdue[:4] + lists.new[:4])
    assert new_page.count(">Показать ещё</a>") == 2


def test_the_changes_since_the_page_was_shown_come_as_rows_to_patch(central_app, lists: Lists) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    http = app.test_client()
    login(http, "ivanova")
    page = http.get("/appeals?queue=new").get_data(as_text=True)
    seq = re.search(r'data-seq="(\d+)"', page)
    changes_url = re.search(r'data-changes-url="([^"]+)"', page)
    assert seq and changes_url
    since = f"{changes_url.group(1).replace('&amp;', '&')}&since={seq.group(1)}"
    assert http.get(since).get_json()["rows"] == []

    taken = lists.new[0]
    taken.take_in_work(staff(data, "ivanova"))
    arrived = appeal(data, due_at=utcnow() + timedelta(minutes=30), patient="Сидорова Елена Андреевна@1")
    unseen = appeal(data, due_at=utcnow() + timedelta(minutes=30), specialty="Неврология")

    body = http.get(since).get_json()
    by_id = {row["id"]: row for row in body["rows"]}
    assert by_id[taken.id] == {"id": taken.id, "list": None}  # off «Новые обращения»
    assert by_id[arrived.id]["list"] == "new" and "Сидорова Елена Андреевна" in by_id[arrived.id]["html"]
    assert by_id[arrived.id]["key"] == paging.row_key(paging.QUEUE_LISTS["new"], arrived)
    assert by_id[unseen.id] == {"id": unseen.id, "list": None}
    assert body["counts"]["new"] == str(len(lists.all_new))  # one taken, one arrived
    assert body["seq"] > int(seq.group(1)) and body["reload"] is False

    in_work = http.get(
        "/appeals/changes", query_string={"queue": "in_work", "since": seq.group(1)}
    ).get_json()
    assert {row["id"]: row["list"] for row in in_work["rows"]}[taken.id] == "in_work"
    assert http.get("/appeals/changes?queue=new&since=x").status_code == 400


def test_too_many_changes_at_once_ask_the_page_to_reload(central_app, lists: Lists, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    monkeypatch.setattr(paging, "CHANGES_LIMIT", 5)
    http = app.test_client()
    login(http, "ivanova")
    body = http.get("/appeals/changes?queue=new&since=0").get_json()
    assert body["reload"] is True and body["rows"] == []
    assert body["counts"]["new"] == str(len(lists.all_new))


def test_the_openapi_document_describes_the_cursor(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/appeals"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert {"queue", "after", "limit", "specialty", "due_by"} <= set(parameters)
    assert parameters["limit"]["schema"]["maximum"] == paging.MAX_PAGE_SIZE
    assert parameters["limit"]["schema"]["default"] == paging.PAGE_SIZE
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    assert {"appeals", "next", "counts", "count_limit"} <= set(page)
    assert "opaque cursor" in operation["description"] and "400" in operation["responses"]
