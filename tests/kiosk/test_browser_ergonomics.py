"""The kiosk is made for fingers on a 1024×768 and a 1280×800 screen (Debian chromium).

The feldsher walks every main page, booking included, at both sizes. On each: no visible
touch target under 44×44 CSS px (tests/helpers/pagecheck.py says what counts), the menu on one
row and wholly in view, times in one format, no English. The slot picker shows one day a
page and «Далее» without scrolling. Screenshots land in FAPLINK_SCREENSHOTS (or the test's
temporary directory) for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import chromium, sign_in
from tests.helpers.cluster import Cluster, eventually, login_works
from tests.helpers.pagecheck import KIOSK_SIZES, check_page, screenshot_dir

PATIENT = "Кузьмин Пётр Васильевич"


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path)
    yield cluster
    cluster.stop_all()


def _menu(page: Page, label: str) -> None:
    page.locator("details.usermenu summary").click()
    page.locator("details.usermenu").get_by_role("link", name=label, exact=True).click()


def _in_view(page: Page, name: str) -> bool:
    box = page.get_by_role("button", name=name, exact=True).bounding_box()
    size = page.viewport_size
    return bool(box and size and box["y"] >= 0 and box["y"] + box["height"] <= size["height"])


def _days_in_view(page: Page) -> list[str]:
    """The days of the slot picker whose times are in the strip's view."""
    return list(
        page.evaluate(
            """() => {
              const strip = document.querySelector('.slot-days').getBoundingClientRect();
              return Array.from(document.querySelectorAll('.slot-day')).filter((d) => {
                const r = d.getBoundingClientRect();
                return r.right > strip.left + 1 && r.left < strip.right - 1;
              }).map((d) => d.dataset.day);
            }"""
        )
    )


def _book(page: Page, shots: Path) -> None:
    """«Записать пациента» from the patient's card: doctor, a time on the second day, details."""
    page.locator(".actions").get_by_role("link", name="Записать пациента").click()
    page.get_by_label("Специальность").select_option(label="Кардиология")
    expect(page.locator(".consultant-card", has_text="Иванова Мария Сергеевна")).to_be_visible()
    check_page(page, "book-doctor", shots)
    page.locator(".consultant-card", has_text="Иванова Мария Сергеевна").get_by_role(
        "link", name="Выбрать врача"
    ).click()
    expect(page.get_by_role("heading", name="Изменить дату и время")).to_be_visible()
    check_page(page, "book-slot", shots)
    # One day a page, «Далее» in view without scrolling.
    first_day = page.locator(".day-pager .day-current").inner_text()
    assert _days_in_view(page) == [first_day]
    assert _in_view(page, "Далее")
    page.get_by_role("button", name="Следующий день").click()
    second_day = page.locator(".slot-day").nth(1).get_attribute("data-day")
    expect(page.locator(".day-pager .day-current")).to_have_text(second_day or "")
    eventually(lambda: _days_in_view(page) == [second_day], timeout=5, what="the second day in view")
    page.locator(".slot-day").nth(1).locator(".slots label").first.click()
    expect(page.locator(".form-footer .chosen")).to_contain_text(f"{second_day} ")
    assert _in_view(page, "Далее")
    page.get_by_role("button", name="Далее").click()

    expect(page.get_by_role("heading", name="Текст обращения")).to_be_visible()
    assert _in_view(page, "Далее")  # the long form keeps it in view too
    page.get_by_label("Основной вопрос").fill("Коррекция гипотензивной терапии?")
    page.get_by_role("radio", name=f"Пациент: {PATIENT}").check()
    check_page(page, "book-details", shots)
    page.get_by_role("button", name="Далее").click()
    expect(page.get_by_role("heading", name="Проверьте данные обращения")).to_be_visible()
    check_page(page, "book-review", shots)
    page.get_by_role("button", name="Информация верна, создать обращение").click()
    expect(page.get_by_text("Обращение создано")).to_be_visible()
    check_page(page, "appeal", shots)


def _walk(page: Page, post: str, shots: Path) -> None:
    page.goto(f"{post}/login")
    check_page(page, "login", shots)
    sign_in(page, post, "fap1")
    expect(page.get_by_role("heading", name="Новые обращения", level=1)).to_be_visible()
    check_page(page, "queue-new", shots)
    for label in ("В работе", "Закрытые обращения"):
        page.locator(".mainnav").get_by_role("link", name=label).click()
        expect(page.get_by_role("heading", name=label, level=1)).to_be_visible()
    check_page(page, "queue-closed", shots)

    page.locator(".mainnav").get_by_role("link", name="Пациенты").click()
    page.get_by_label("Номер телефона, СНИЛС или полис ОМС").fill("8 915 111-22-33")
    page.get_by_role("button", name="Найти").click()
    expect(page.get_by_role("heading", name=PATIENT)).to_be_visible()
    check_page(page, "patients", shots)
    page.get_by_role("link", name="Карта пациента").first.click()
    expect(page.get_by_role("heading", name=PATIENT, level=1)).to_be_visible()
    check_page(page, "card", shots)
    page.get_by_role("link", name="Изменить данные").click()
    expect(page.get_by_label("Фамилия")).to_be_visible()
    check_page(page, "patient-form", shots)
    page.go_back()
    page.get_by_role("link", name="Новое обследование").click()
    expect(page.get_by_role("button", name="Сохранить обследование")).to_be_visible()
    check_page(page, "exam", shots)
    page.go_back()
    _book(page, shots)

    page.goto(f"{post}/sync")
    expect(page.get_by_role("heading", name="Синхронизация", level=1)).to_be_visible()
    check_page(page, "sync", shots)
    page.locator("details.usermenu summary").click()
    check_page(page, "user-menu", shots)
    page.locator("details.usermenu").get_by_role("link", name="Настройки", exact=True).click()
    expect(page.get_by_role("heading", name="Настройки", level=1)).to_be_visible()
    check_page(page, "settings", shots)
    page.get_by_role("link", name="Проверить оборудование").click()
    expect(page.get_by_role("heading", name="Проверка оборудования", exact=True)).to_be_visible()
    check_page(page, "device-check", shots)
    _menu(page, "Профиль")
    expect(page.get_by_label("Часовой пояс")).to_be_visible()
    check_page(page, "profile", shots)
    _menu(page, "Направления")
    expect(page.get_by_role("heading", name="Направления", level=1)).to_be_visible()
    check_page(page, "referrals", shots)
    page.get_by_role("link", name="Новое направление").click()
    expect(page.get_by_role("heading", name="Новое направление", level=1)).to_be_visible()
    check_page(page, "referral-patient", shots)
    page.locator(".topbar").get_by_role("link", name="Нужна помощь").click()
    expect(page.get_by_role("heading", name="Нужна помощь", level=1)).to_be_visible()
    check_page(page, "support", shots)


def test_every_kiosk_page_is_made_for_fingers_at_both_sizes(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_central()
    cluster.start_post(0)
    post = cluster.post_url(0)
    eventually(lambda: login_works(post, "fap1"), what="the first sync")
    shots = screenshot_dir(tmp_path / "screens")
    with chromium() as browser:
        for width, height in KIOSK_SIZES:
            context = browser.new_context(locale="ru-RU", viewport={"width": width, "height": height})
            _walk(context.new_page(), post, shots)
            context.close()
    assert len(list(shots.glob("*-1024.png"))) == len(list(shots.glob("*-1280.png"))) >= 18
