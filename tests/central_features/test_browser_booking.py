"""Booking by the consultant in Debian chromium: files in «Запись на консультацию» from
«Маршрутизация», and the manual's «Записать пациента» wizard, by the visible labels."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, FilePayload, Page, expect

from central.routing.service import free_slots
from domain.models import Appeal, AppealStatus, Attachment, Patient, Slot, Staff
from tests.helpers.appeals import new_appeal
from tests.helpers.browser import choose_in_menu, open_central_as
from tests.kiosk import samples


def _pick_slot(page: Page, slot: Slot) -> None:
    page.locator(".slots label", has=page.locator(f"input[value='{slot.id}']")).click()


def _file(name: str, data: bytes) -> FilePayload:
    return FilePayload(name=name, mimeType="application/octet-stream", buffer=data)


def test_booking_from_routing_takes_files_and_refuses_a_bad_one_by_name(
    browser: Browser,
    central: str,
    central_app,  # type: ignore[no-untyped-def]
) -> None:
    _, data = central_app
    appeal = new_appeal(data)
    appeal.take_in_work(Staff.get_by_id(data.consultants["ivanova"]))
    smirnov = Staff.get_by_id(data.consultants["smirnov"])
    slot = free_slots(smirnov.id)[1]
    page = open_central_as(browser, central, "ivanova")
    page.goto(f"{central}/appeals/{appeal.id}/routing")
    page.get_by_role("link", name="Запись на консультацию").click()
    page.get_by_label("Врач").select_option(label="Смирнов Алексей Викторович — Кардиология")
    page.get_by_role("button", name="Изменить дату и время").click()
    _pick_slot(page, slot)
    page.get_by_label("Текст обращения").fill("Контроль АД через неделю")
    page.locator("fieldset.consent-step").get_by_role("radio", name="Пациент:").check()

    files = page.get_by_label("Прикрепить результаты исследований", exact=False)
    files.set_input_files([_file("ЭКГ.pdf", samples.pdf()), _file("программа.exe", b"MZ\x90\x00\x03")])
    page.get_by_role("button", name="Далее").click()
    expect(page.get_by_role("alert")).to_contain_text("Файл «программа.exe» не поддерживается")
    assert Attachment.select().count() == 0

    # The form keeps what was typed; the good files go again, and the review lists them.
    expect(page.get_by_label("Текст обращения")).to_have_value("Контроль АД через неделю")
    _pick_slot(page, slot)
    files.set_input_files([_file("ЭКГ.pdf", samples.pdf()), _file("анализ.docx", samples.docx())])
    page.get_by_role("button", name="Далее").click()
    expect(page.get_by_role("heading", name="Проверьте данные обращения")).to_be_visible()
    expect(page.locator("dd.attached")).to_contain_text("ЭКГ.pdf")
    expect(page.locator("dd.attached")).to_contain_text("анализ.docx")

    # «Изменить»: the files stay attached; one is removed, then the booking is made.
    page.get_by_role("button", name="Изменить").click()
    expect(page.locator(".booking-files")).to_contain_text("анализ.docx")
    page.locator(".booking-files li", has_text="анализ.docx").get_by_label("Убрать").check()
    page.get_by_role("button", name="Далее").click()
    expect(page.locator("dd.attached")).to_contain_text("ЭКГ.pdf")
    expect(page.locator("dd.attached")).not_to_contain_text("анализ.docx")
    page.get_by_role("button", name="Информация верна, создать обращение").click()
    expect(page.get_by_text("Обращение создано: Смирнов Алексей Викторович")).to_be_visible()

    booked = Appeal.get(Appeal.slot == slot.id)
    stored = list(Attachment.select().where(Attachment.appeal == booked.id))
    assert [a.filename for a in stored] == ["ЭКГ.pdf"] and stored[0].size == len(samples.pdf())
    # The consultant who booked sees the new appeal, with its file, like a post's file.
    page.goto(f"{central}/appeals/{booked.id}")
    page.locator("#files").get_by_role("link", name="ЭКГ.pdf", exact=True).click()
    expect(page.get_by_role("heading", name="ЭКГ.pdf", level=1)).to_be_visible()


def test_the_consultant_books_a_patient_found_by_phone_with_the_wizard(
    browser: Browser,
    central: str,
    central_app,  # type: ignore[no-untyped-def]
) -> None:
    _, data = central_app
    smirnov = Staff.get_by_id(data.consultants["smirnov"])
    slot = free_slots(smirnov.id)[1]
    mother = Patient.get_by_id(data.patients["Сидорова Елена Андреевна@1"])
    page = open_central_as(browser, central, "ivanova")
    choose_in_menu(page, "Записать пациента")
    expect(page.get_by_role("heading", name="Записать пациента", level=1)).to_be_visible()

    # The phone finds the mother and the children she represents; «Далее» waits for a choice.
    page.get_by_label("Телефон, СНИЛС или полис ОМС").fill("8 (912) 100-45-67")
    page.get_by_role("button", name="Найти").click()
    cards = page.locator(".patient-card")
    expect(cards).to_have_count(3)
    expect(page.get_by_text("несколько медицинских карт")).to_be_visible()
    assert "912" not in page.url  # the number went by POST, not in the address
    expect(page.get_by_role("button", name="Далее")).to_be_disabled()
    mothers = cards.filter(has=page.get_by_role("heading", name="Сидорова Елена Андреевна"))
    mothers.get_by_text("Выбрать пациента").click()
    expect(page.get_by_role("button", name="Далее")).to_be_enabled()
    page.get_by_role("button", name="Далее").click()

    # The doctor: by specialty and name, then a free date and time in the schedule.
    expect(page.get_by_role("heading", name="Выбор врача")).to_be_visible()
    page.get_by_label("Специальность").select_option(label="Кардиология")
    expect(page.locator(".doctor-card")).to_have_count(2)
    page.get_by_label("ФИО врача").fill("Смирн")
    page.get_by_role("button", name="Найти").click()
    expect(page.locator(".doctor-card")).to_have_count(1)
    page.get_by_role("link", name="Выбрать дату и время").click()
    _pick_slot(page, slot)
    page.get_by_role("button", name="Далее").click()

    # The appeal: the type of consultation, the contact, the text, a file, the ИДС.
    expect(page.get_by_role("heading", name="Текст обращения", level=1)).to_be_visible()
    page.get_by_label("повторная").check()
    page.get_by_label("аудио").check()
    page.get_by_label("Текст обращения").fill(
        "Одышка при нагрузке; ЭКГ прилагаю. Нужна ли коррекция терапии?"
    )
    page.get_by_label("Прикрепить результаты исследований", exact=False).set_input_files(
        [_file("ЭКГ.pdf", samples.pdf())]
    )
    page.locator("fieldset.consent-step").get_by_role("radio", name="Пациент:").check()
    page.get_by_role("button", name="Далее").click()

    expect(page.get_by_role("heading", name="Проверьте данные обращения")).to_be_visible()
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("Сидорова Елена Андреевна")
    expect(facts).to_contain_text("Смирнов Алексей Викторович — Кардиология")
    expect(facts).to_contain_text("врач — врач, повторная")
    expect(facts).to_contain_text("аудио")
    expect(facts).to_contain_text("ЭКГ.pdf")
    page.get_by_role("button", name="Информация верна, создать обращение").click()

    # It shows for the consultant who booked and for the other doctor, in «Новые обращения».
    expect(page.get_by_text("Обращение создано: Смирнов Алексей Викторович")).to_be_visible()
    expect(page.get_by_role("heading", name="Сидорова Елена Андреевна", level=1)).to_be_visible()
    booked = Appeal.get(Appeal.slot == slot.id)
    assert (booked.patient_id, booked.author_id, booked.consultant_id) == (
        mother.id,
        data.consultants["ivanova"],
        smirnov.id,
    )
    assert (booked.kind, booked.contact_mode, booked.status) == ("repeat", "audio", AppealStatus.NEW)
    assert booked.post_id == mother.organization_id and booked.consent_by == "patient"
    assert [a.filename for a in Attachment.select().where(Attachment.appeal == booked.id)] == ["ЭКГ.pdf"]
    page.goto(f"{central}/appeals?queue=new")
    expect(page.locator("#queues")).to_contain_text("Сидорова Елена Андреевна")
    other = open_central_as(browser, central, "smirnov")
    expect(other.locator("#queues")).to_contain_text("Сидорова Елена Андреевна")


def test_a_patient_not_found_gets_a_card_and_goes_on_to_the_doctor(
    browser: Browser,
    central: str,
    central_app,  # type: ignore[no-untyped-def]
) -> None:
    _, data = central_app
    page = open_central_as(browser, central, "ivanova")
    choose_in_menu(page, "Записать пациента")
    page.get_by_label("Телефон, СНИЛС или полис ОМС").fill("+7 999 000-11-22")
    page.get_by_role("button", name="Найти").click()
    expect(page.get_by_text("Пациент не найден")).to_be_visible()
    page.get_by_role("link", name="Создать учётную запись пациента").click()

    page.get_by_label("Фамилия").fill("Орлова")
    page.get_by_label("Имя", exact=True).fill("Нина")
    page.get_by_label("Дата рождения").fill("1961-05-14")
    page.get_by_label(re.compile(r"^Пол\s")).select_option(label="женский")
    page.get_by_label("ФАП").select_option(label="ФАП с. Кушалино")
    page.get_by_label("Телефон", exact=True).fill("+7 999 000-11-22")
    page.get_by_label("СНИЛС").fill("112-233-445 00")  # a wrong check number
    page.get_by_role("button", name="Создать").click()
    expect(page.get_by_role("alert")).to_contain_text("СНИЛС")
    assert Patient.select().where(Patient.last_name == "Орлова").count() == 0

    page.get_by_label("СНИЛС").fill("")
    page.get_by_role("button", name="Создать").click()
    expect(page.get_by_text("Пациент Орлова Нина создан")).to_be_visible()
    expect(page.get_by_role("heading", name="Выбор врача")).to_be_visible()
    created = Patient.get(Patient.last_name == "Орлова")
    assert created.organization_id == data.posts[1][0] and created.phone == "+79990001122"

    # Found by the same phone the next time, and never twice by СНИЛС.
    choose_in_menu(page, "Записать пациента")
    page.get_by_label("Телефон, СНИЛС или полис ОМС").fill("89990001122")
    page.get_by_role("button", name="Найти").click()
    expect(page.locator(".patient-card")).to_have_count(1)
    expect(page.locator(".patient-card")).to_contain_text("Орлова Нина")
