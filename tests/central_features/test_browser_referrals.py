"""«Направления» in Debian chromium: the consultant finds the referrals they issued by status
and validity, pages through them and opens the patient's appeal."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, expect

from domain.models import Specialty, Staff
from sync.clock import utcnow
from tests.helpers.appeals import new_appeal
from tests.helpers.browser import choose_in_menu, open_central_as

from .referral_data import a_mix, issue


def test_the_consultant_filters_issued_referrals_pages_and_opens_the_patient(
    browser: Browser,
    central: str,
    central_app,  # type: ignore[no-untyped-def]
) -> None:
    _, data = central_app
    now = utcnow()
    zone = ZoneInfo(Staff.get_by_id(data.consultants["ivanova"]).timezone)
    today = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).date()
    appeal = new_appeal(data)
    a_mix(appeal, data, today, now)

    page = open_central_as(browser, central, "ivanova")
    choose_in_menu(page, "Направления")
    expect(page.get_by_role("heading", name="Направления", level=1)).to_be_visible()
    rows = page.locator("tr.referral-row")
    expect(rows).to_have_count(5)
    expect(page.locator("#referrals")).not_to_contain_text("Направление Смирнова")  # another doctor's
    valid = page.locator("tr.referral-row", has_text="Контроль ЭКГ")
    expect(valid).to_contain_text((today + timedelta(days=30)).strftime("%d.%m.%Y"))
    expect(valid).to_contain_text("действует")
    expect(page.locator("tr.referral-row", has_text="Наблюдение невролога")).to_contain_text("Бессрочно")
    expect(page.locator("tr.referral-row", has_text="Старое направление")).to_contain_text("срок истёк")

    page.get_by_label("Статус").select_option(label="использовано")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Уже записан")
    page.get_by_label("Статус").select_option(label="Все")
    page.get_by_label("Срок действия").select_option(label="Срок истёк")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Старое направление")
    page.get_by_label("Срок действия").select_option(label="Действующие")
    expect(rows).to_have_count(2)
    page.get_by_role("link", name="Сбросить").click()
    expect(rows).to_have_count(5)

    # A centre has many: 25 a page, newest first.
    for n in range(21):
        issue(appeal, "ivanova", data, justification=f"Повторное {n}", created_at=now - timedelta(minutes=n))
    page.reload()
    expect(rows).to_have_count(25)
    expect(rows.first).to_contain_text("Повторное 0")
    expect(page.get_by_text("Страница 1 из 2")).to_be_visible()
    page.get_by_role("link", name="Вперёд").click()
    expect(page.get_by_text("Страница 2 из 2")).to_be_visible()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Старое направление")

    # A valid referral leads on to «Записать пациента», at the doctor of its specialty.
    page.get_by_role("link", name="Назад").click()
    page.locator("tr.referral-row", has_text="Наблюдение невролога").get_by_role(
        "link", name="Записать пациента"
    ).click()
    expect(page.get_by_role("heading", name="Выбор врача")).to_be_visible()
    expect(page.get_by_label("Специальность")).to_have_value(Specialty.get(Specialty.name == "Неврология").id)
    expect(page.locator(".doctor-card")).to_have_count(1)
    expect(page.locator(".doctor-card")).to_contain_text("Кузнецова Ольга Петровна")

    page.go_back()
    page.get_by_role("link", name="Вперёд").click()
    expect(rows).to_have_count(1)
    expect(page.locator("tr.referral-row").first.get_by_role("link", name="Записать пациента")).to_have_count(
        0
    )
    rows.first.get_by_role("link", name="Кузьмин Пётр Васильевич").click()
    expect(page.get_by_role("heading", name="Кузьмин Пётр Васильевич", level=1)).to_be_visible()
    assert page.url.endswith(f"/appeals/{appeal.id}")
