"""Иванова's open queue in Debian chromium: appeals that arrive or are taken patch the rows on the
page (the page is not reloaded, the rows shown stay the same elements), «Показать ещё» adds the
next rows in place, and the counters follow."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from central.appeals import paging
from domain.models import Appeal
from sync.clock import utcnow
from tests.helpers.browser import chromium, sign_in
from tests.helpers.queue import appeal, staff
from tests.helpers.web import served_in_thread

LIVE_MS = 30_000  # a ceiling: live updates take well under a second on an idle machine


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def central(central_app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    app, _ = central_app
    with served_in_thread(app) as port:
        yield f"http://127.0.0.1:{port}"


def _announce(app) -> None:  # type: ignore[no-untyped-def]
    """What central does after every write (a post's push, a page's form): tell who is concerned."""
    app.extensions["live_feed"].flush()


def _names(page: Page) -> list[str]:
    return page.locator("#new li[data-row] .who").all_inner_texts()


def test_the_open_queue_is_patched_not_reloaded(
    browser: Browser, central: str, central_app, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    now = utcnow()
    first, second, third = (
        appeal(data, due_at=now + timedelta(hours=hours), patient=name)
        for hours, name in (
            (2, "Кузьмин Пётр Васильевич@1"),
            (3, "Кузьмин Пётр Васильевич@2"),
            (4, "Сидорова Елена Андреевна@2"),
        )
    )
    page = browser.new_context(locale="ru-RU").new_page()
    sign_in(page, central, "ivanova")
    expect(page.get_by_role("heading", name="Новые обращения", level=1)).to_be_visible()
    expect(page.locator("#new li[data-row]")).to_have_count(2)
    expect(page.locator("#new").get_by_role("link", name="Показать ещё")).to_be_visible()
    expect(page.locator(".mainnav")).to_contain_text("Новые обращения 3")
    page.wait_for_function(
        "() => window.faplink && window.faplink.socket() && window.faplink.socket().connected"
    )
    page.evaluate(f"""() => {{
        window.__notReloaded = true;
        document.querySelector('li[data-row="{first.id}"]').__kept = true;
    }}""")
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))

    # An urgent appeal arrives with the nearest deadline: it comes first, the rows shown stay.
    urgent = appeal(data, due_at=now + timedelta(hours=1), patient="Сидорова Елена Андреевна@1")
    _announce(app)
    expect(page.locator("#new li[data-row]").first).to_have_attribute("data-row", urgent.id, timeout=LIVE_MS)
    assert _names(page) == ["Сидорова Елена Андреевна", "Кузьмин Пётр Васильевич", "Кузьмин Пётр Васильевич"]
    expect(page.locator(".mainnav")).to_contain_text("Новые обращения 4")
    expect(page.locator('#new [data-count="new_not_overdue"]')).to_have_text("4")

    # One that falls after the rows shown waits for «Показать ещё»; the counter counts it.
    later = appeal(data, due_at=now + timedelta(hours=9), patient="Кузьмин Пётр Васильевич@1")
    _announce(app)
    expect(page.locator(".mainnav")).to_contain_text("Новые обращения 5", timeout=LIVE_MS)
    expect(page.locator(f'li[data-row="{later.id}"]')).to_have_count(0)

    # Иванова takes one in work elsewhere (another tab): it leaves the list.
    Appeal.get_by_id(second.id).take_in_work(staff(data, "ivanova"))
    _announce(app)
    expect(page.locator(f'#new li[data-row="{second.id}"]')).to_have_count(0, timeout=LIVE_MS)
    expect(page.locator(".mainnav")).to_contain_text("В работе 1")

    # «Показать ещё» brings the rest in order, in place, and goes when nothing is left.
    page.locator("#new").get_by_role("link", name="Показать ещё").click()
    expect(page.locator("#new li[data-row]")).to_have_count(4)
    assert page.locator("#new li[data-row]").evaluate_all("rows => rows.map(r => r.dataset.row)") == [
        urgent.id,
        first.id,
        third.id,
        later.id,
    ]
    expect(page.locator("#new").get_by_role("link", name="Показать ещё")).to_have_count(0)

    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    assert page.evaluate(f"""document.querySelector('li[data-row="{first.id}"]').__kept === true"""), (
        "the row shown before was replaced"
    )
    assert any("/appeals/changes?" in url for url in fetched)
    assert not [url for url in fetched if "/appeals?" in url], "the lists were fetched again"
