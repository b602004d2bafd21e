"""Debian's chromium driven by Playwright, as the probe of this machine showed it works."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("Debian chromium is not installed: run `make test` (it installs it)")
    return path


#: How long `expect(…)` waits for a page to show what it should: a ceiling, not a cost. Playwright's
#: 5 s was short for a page loading on a machine whose two cores run the whole suite, and 15 s
#: for one that also runs other work.
EXPECT_MS = 30_000
#: How long an action (click, fill, goto) waits for its element or page: Playwright's 30 s, doubled
#: for the same reason.
ACTION_MS = 60_000


@contextmanager
def chromium() -> Iterator[Browser]:
    expect.set_options(timeout=EXPECT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        with_action_timeout(browser)
        try:
            yield browser
        finally:
            browser.close()


def with_action_timeout(browser: Browser) -> None:
    """Every context the tests open (and the page `browser.new_page` opens) waits `ACTION_MS`."""
    new_context, new_page = browser.new_context, browser.new_page

    def context_with_timeout(**options: Any) -> BrowserContext:
        context = new_context(**options)
        context.set_default_timeout(ACTION_MS)
        context.set_default_navigation_timeout(ACTION_MS)
        return context

    def page_with_timeout(**options: Any) -> Page:
        page = new_page(**options)
        page.set_default_timeout(ACTION_MS)
        page.set_default_navigation_timeout(ACTION_MS)
        return page

    browser.new_context = context_with_timeout  # type: ignore[method-assign]
    browser.new_page = page_with_timeout  # type: ignore[method-assign]


def sign_in(page: Page, base: str, login: str, password: str = "demo1234") -> None:
    """Log in through the login page of central or a node, as a user would."""
    page.goto(f"{base}/login")
    page.get_by_label("Логин").fill(login)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()


def open_central_as(browser: Browser, base: str, login: str) -> Page:
    page = browser.new_context(locale="ru-RU").new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # «Удалить…?», «Сбросить пароль…?»
    page.goto(f"{base}/login")
    page.get_by_label("Логин").fill(login)
    page.get_by_label("Пароль").fill("demo1234")
    page.get_by_role("button", name="Войти").click()
    expect(page.locator(".usermenu summary")).to_be_visible()
    return page


def choose_in_menu(page: Page, item: str) -> None:
    page.locator(".usermenu summary").click()
    page.locator(".usermenu .menu").get_by_role("link", name=item, exact=True).click()
