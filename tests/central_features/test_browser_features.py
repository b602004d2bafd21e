"""«Расписание», «Профиль», «Нужна помощь» and administration in Debian chromium, by visible labels."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import Browser, Page, expect

from domain.models import ScheduleTemplate, Slot, Staff, StaffCredential, SupportRequest
from tests.helpers.browser import choose_in_menu, open_central_as
from web.auth import verify_password


def _monday_ahead() -> date:
    today = date.today()
    return today + timedelta(days=21 - today.weekday())


def _fill_template(page: Page, name: str, start: date, end: date, cells: list[str]) -> None:
    page.get_by_label("Название шаблона").fill(name)
    page.get_by_label("Дата начала").fill(start.isoformat())
    page.get_by_label("Дата окончания").fill(end.isoformat())
    page.get_by_label("Время первого приёма").fill("09:00")
    page.get_by_label("Время последнего приёма").fill("10:45")
    page.get_by_label("Время последнего приёма").blur()
    # The grid follows the hours as they are typed: a 30-minute appointment that begins at
    # 10:45 would end after the last one's time, so 10:30 is the last cell offered.
    expect(page.get_by_label("10:30", exact=True)).to_be_visible()
    expect(page.get_by_label("10:45", exact=True)).to_have_count(0)
    expect(page.get_by_label("11:00", exact=True)).to_have_count(0)
    for cell in cells:
        page.get_by_label(cell, exact=True).check()
    page.get_by_role("button", name="Сохранить").click()


def test_a_consultant_fills_the_schedule_and_sees_it_in_the_day_view(browser: Browser, central: str) -> None:
    page = open_central_as(browser, central, "ivanova")
    choose_in_menu(page, "Расписание")
    expect(page.get_by_role("heading", name="Расписание", level=1)).to_be_visible()
    monday = _monday_ahead()

    page.get_by_role("link", name="Создать шаблон").click()
    # The default working day, 09:00–17:00 in 30-minute appointments: the last begins at 16:30.
    expect(page.get_by_label("16:30", exact=True)).to_be_visible()
    expect(page.get_by_label("16:45", exact=True)).to_have_count(0)
    _fill_template(page, "Будни", monday, monday + timedelta(days=4), ["09:00", "09:30", "10:00"])
    expect(page.get_by_text("Шаблон «Будни» сохранён")).to_be_visible()
    row = page.locator("tr", has_text="Будни")
    expect(row.get_by_role("switch")).to_have_attribute("aria-checked", "false")
    row.get_by_role("switch").click()
    expect(page.get_by_text("Шаблон «Будни» активирован: создано слотов — 15")).to_be_visible()
    expect(page.locator("tr", has_text="Будни").get_by_role("switch")).to_have_attribute(
        "aria-checked", "true"
    )
    assert Slot.live().where(Slot.template == ScheduleTemplate.get().id).count() == 15

    # A template that ends before it starts, and one that overlaps «Будни», are refused.
    page.get_by_role("link", name="Создать шаблон").click()
    _fill_template(page, "Назад", monday, monday - timedelta(days=3), ["09:00"])
    expect(page.get_by_role("alert")).to_contain_text("раньше даты начала")
    page.get_by_label("Дата окончания").fill((monday + timedelta(days=2)).isoformat())
    page.get_by_label("Название шаблона").fill("Утро")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_role("alert")).to_contain_text("пересекается с активным шаблоном «Будни»")
    assert ScheduleTemplate.select().count() == 1

    page.get_by_role("link", name="График").click()
    page.get_by_label("Дата").fill(monday.isoformat())
    page.get_by_role("button", name="Показать").click()
    slots = page.locator("tr.slot-row")
    expect(slots).to_have_count(3)
    expect(slots.first).to_contain_text("09:00–09:30")
    expect(slots.first).to_contain_text("Свободно")

    page.get_by_role("link", name="Шаблоны").click()
    page.get_by_role("link", name="Изменить шаблон «Будни»").click()
    page.get_by_role("link", name="Удалить шаблон").click()
    page.get_by_role("button", name="Подтвердить удаление").click()
    expect(page.get_by_text("Шаблон «Будни» удалён")).to_be_visible()
    expect(page.get_by_text("Шаблонов пока нет")).to_be_visible()
    assert Slot.live().where(Slot.template == ScheduleTemplate.get().id).count() == 0


def test_a_consultant_sets_the_time_zone_and_asks_support_which_staff_handle(
    browser: Browser, central: str
) -> None:
    doctor = open_central_as(browser, central, "ivanova")
    choose_in_menu(doctor, "Профиль")
    expect(doctor.get_by_text("Иванова Мария Сергеевна")).to_be_visible()
    expect(doctor.get_by_text("Все пациенты региона")).to_be_visible()
    doctor.get_by_label("Часовой пояс").select_option("Asia/Yekaterinburg")
    zone_form = doctor.locator("form", has=doctor.get_by_label("Часовой пояс"))
    zone_form.get_by_role("button", name="Сохранить").click()
    expect(doctor.get_by_text("Часовой пояс сохранён: Asia/Yekaterinburg")).to_be_visible()
    assert Staff.get(Staff.last_name == "Иванова").timezone == "Asia/Yekaterinburg"

    choose_in_menu(doctor, "Нужна помощь")
    expect(doctor.get_by_text("8 (800) 500-02-99")).to_be_visible()
    doctor.get_by_label("Телефон для связи").fill("+7 912 345-67-89")
    doctor.get_by_label("Комментарий").fill("Не слышно фельдшера в видеозвонке")
    doctor.get_by_role("button", name="Заказать звонок").click()
    expect(doctor.get_by_text("Заявка на звонок принята")).to_be_visible()
    doctor.get_by_label("Сообщение").fill("Хорошо бы видеть возраст пациента в списке")
    doctor.get_by_role("button", name="Оставить сообщение").click()
    expect(doctor.get_by_text("Сообщение отправлено в поддержку")).to_be_visible()

    admin = open_central_as(browser, central, "admin")
    choose_in_menu(admin, "Обращения в поддержку")
    row = admin.locator("tr", has_text="Не слышно фельдшера в видеозвонке")
    expect(row).to_contain_text("+79123456789")
    expect(row).to_contain_text("Иванова Мария Сергеевна")
    row.get_by_role("button", name="Отметить выполненным").click()
    expect(admin.get_by_text("Обращение отмечено выполненным")).to_be_visible()
    expect(admin.get_by_text("Не слышно фельдшера в видеозвонке")).to_have_count(0)
    assert SupportRequest.get(SupportRequest.kind == "callback").status == "done"


def test_the_administrator_adds_a_post_and_its_feldsher_then_resets_and_deactivates(
    browser: Browser, central: str
) -> None:
    page = open_central_as(browser, central, "admin")
    choose_in_menu(page, "Администрирование")
    page.get_by_role("link", name="Специальности").first.click()
    page.get_by_label("Название специальности").fill("Онкология")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_text("Специальность «Онкология» сохранена")).to_be_visible()

    page.get_by_role("link", name="Организации").first.click()
    page.get_by_label("Название организации").fill("ФАП д. Лог")
    page.get_by_label("Тип организации").select_option(label="ФАП")
    page.get_by_label("Адрес").fill("д. Лог, ул. Речная, 1")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.locator("tr", has_text="ФАП д. Лог")).to_contain_text("Тверская область")

    page.get_by_role("link", name="Пользователи").first.click()
    page.get_by_role("link", name="Добавить пользователя").click()
    page.get_by_label("Фамилия").fill("Гусева")
    page.get_by_label("Имя", exact=True).fill("Светлана")
    page.get_by_label(re.compile(r"^Роль")).select_option(label="фельдшер")
    page.get_by_label("Организация").select_option(label="ФАП д. Лог (ФАП)")
    page.get_by_label("Логин").fill("fap3")
    page.get_by_label("Пароль").fill("first-pass-1")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_text("Пользователь Гусева Светлана добавлен")).to_be_visible()

    page.get_by_role("link", name="Гусева Светлана").click()
    page.get_by_role("button", name="Сбросить пароль").click()
    expect(page.get_by_role("heading", name="Пароль сброшен")).to_be_visible()
    temporary = page.locator(".temporary-password").inner_text().strip()
    credential = StaffCredential.get(StaffCredential.login == "fap3")
    assert verify_password(credential.password_hash, temporary)
    assert not verify_password(credential.password_hash, "first-pass-1")

    page.get_by_role("link", name="К карточке пользователя").click()
    page.get_by_role("button", name="Деактивировать").click()
    expect(page.get_by_text("Пользователь Гусева Светлана деактивирован")).to_be_visible()
    expect(page.get_by_role("button", name="Активировать")).to_be_visible()
    staff = Staff.get(Staff.last_name == "Гусева")
    assert not staff.active and staff.organization.name == "ФАП д. Лог"
