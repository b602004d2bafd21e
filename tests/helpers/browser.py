"""Debian's chromium driven by Playwright, as the probe of this machine showed it works."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, expect, sync_playwright

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
#: 5 s was short for a page loading on a machine whose two cores run the whole suite.
EXPECT_MS = 15_000


@contextmanager
def chromium() -> Iterator[Browser]:
    expect.set_options(timeout=EXPECT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


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
