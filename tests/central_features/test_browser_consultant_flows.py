"""In Debian chromium, by the visible labels: the exam and file previews on the appeal page, the
protocol with an ICD-10 diagnosis and a file, «Маршрутизация», the directories and visibility."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Browser, FilePayload, Page, expect

from central.routing.service import free_slots
from domain.models import (
    Appeal,
    AppealKind,
    AppealStatus,
    Attachment,
    AttachmentKind,
    Diagnosis,
    Organization,
    Referral,
    Region,
    Specialty,
    Staff,
)
from sync.clock import utcnow
from tests.helpers.appeals import new_appeal
from tests.helpers.browser import choose_in_menu, open_central_as
from tests.kiosk import samples

from .exam_data import attach_files, post_exams


def _appeal_in_work(data) -> Appeal:  # type: ignore[no-untyped-def]
    appeal = new_appeal(data)
    appeal.take_in_work(Staff.get_by_id(data.consultants["ivanova"]))
    return appeal


def _open_appeal(page: Page, base: str, appeal: Appeal) -> None:
    page.goto(f"{base}/appeals/{appeal.id}")
    expect(page.get_by_role("heading", name="Кузьмин Пётр Васильевич", level=1)).to_be_visible()


def test_the_consultant_reads_the_exam_previews_files_and_sends_a_protocol_with_a_file(
    browser: Browser,
    central: str,
    central_app,  # type: ignore[no-untyped-def]
) -> None:
    app, data = central_app
    appeal = new_appeal(data)
    post_exams(appeal)
    attach_files(app, appeal, ("анализ.docx", "глюкоза.xlsx"))
    page = open_central_as(browser, central, "ivanova")
    page.get_by_text("Кузьмин Пётр Васильевич").first.click()

    exam = page.locator("#exam")
    expect(exam.get_by_role("heading", name="Обследование")).to_be_visible()
    expect(exam).to_contain_text("Головная боль, мушки перед глазами")
    vitals = exam.locator("table.vitals-table:not(.news2)")
    expect(vitals.get_by_role("row", name="Систолическое АД 182 мм рт. ст.")).to_be_visible()
    expect(vitals.get_by_role("row", name="SpO2 95 %")).to_be_visible()
    # The early warning the kiosk showed: NEWS2 from what was measured (SpO2 95 % scores 1).
    expect(exam.locator(".news2-score")).to_contain_text("NEWS2: 1")
    expect(exam.locator(".news2-score")).to_contain_text("неполная оценка")
    expect(page.get_by_role("heading", name="Динамика показателей")).to_be_visible()
    expect(page.get_by_role("img", name="Систолическое АД, мм рт. ст.")).to_be_visible()

    page.locator("#files").get_by_role("link", name="анализ.docx", exact=True).click()
    expect(page.get_by_role("heading", name="анализ.docx", level=1)).to_be_visible()
    expect(page.get_by_text("Общий анализ крови: гемоглобин 128 г/л")).to_be_visible()
    expect(page.get_by_text("<script>alert(1)</script>")).to_be_visible()  # shown as text, never run
    page.get_by_role("link", name="Назад").click()
    page.locator("#files").get_by_role("link", name="глюкоза.xlsx", exact=True).click()
    expect(page.get_by_role("heading", name="Глюкоза", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="7.4")).to_be_visible()
    page.get_by_role("link", name="Назад").click()

    page.get_by_role("button", name="Взять в работу").click()
    expect(page.get_by_text("Обращение взято в работу")).to_be_visible()
    page.get_by_role("link", name="Протокол").click()
    page.get_by_label("Рекомендации", exact=True).fill("Амлодипин 5 мг вечером; контроль АД")
    page.get_by_label("Заболевание").press_sequentially("гипертоническая", delay=20)
    page.get_by_role("option", name="I10").click()
    expect(page.get_by_label("Код МКБ-10")).to_have_value("I10")
    prescriptions = samples.xlsx()  # a zip with its own timestamps: made once, compared below
    page.get_by_label("Файлы (PDF, DOC, XLSX)").set_input_files(
        files=[FilePayload(name="назначения.xlsx", mimeType="application/octet-stream", buffer=prescriptions)]
    )
    page.get_by_role("button", name="Отправить протокол").click()
    expect(page.get_by_text("Протокол отправлен, обращение закрыто")).to_be_visible()
    page.locator("#protocol-extras").get_by_role("link", name="назначения.xlsx", exact=True).click()
    expect(page.get_by_role("heading", name="назначения.xlsx", level=1)).to_be_visible()
    expect(page.get_by_role("cell", name="01.11.2026")).to_be_visible()

    closed = Appeal.get_by_id(appeal.id)
    assert closed.status == AppealStatus.CLOSED
    diagnoses = Diagnosis.select().where(Diagnosis.protocol == closed.current_protocol())
    assert [d.code for d in diagnoses] == ["I10"]
    stored = Attachment.get(
        (Attachment.appeal == appeal.id) & (Attachment.kind == AttachmentKind.PROTOCOL_FILE)
    )
    assert stored.filename == "назначения.xlsx" and stored.size == len(prescriptions)


def test_routing_issues_referrals_and_books_a_free_slot_of_another_consultant(
    browser: Browser,
    central: str,
    central_app,  # type: ignore[no-untyped-def]
) -> None:
    _, data = central_app
    appeal = _appeal_in_work(data)
    page = open_central_as(browser, central, "ivanova")
    _open_appeal(page, central, appeal)
    page.get_by_role("link", name="Маршрутизация").click()
    expect(page.get_by_role("heading", name="Маршрутизация", level=1)).to_be_visible()

    # «Создание направления» to a specialty, without an end date.
    page.get_by_role("link", name="Создание направления").click()
    page.get_by_label("Специальность").select_option(label="Неврология")
    page.get_by_label("Бессрочно").check()
    page.get_by_label("Обоснование направления").fill("Эпизоды онемения левой руки")
    page.get_by_role("button", name="Далее").click()
    expect(page.get_by_role("heading", name="Проверьте данные направления")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("любой врач специальности")
    page.get_by_role("button", name="Информация верна, создать направление").click()
    expect(page.get_by_text("Направление создано")).to_be_visible()
    expect(page.locator("tr", has_text="Эпизоды онемения левой руки")).to_contain_text("Бессрочно")

    # «Создание направления» to a chosen doctor, valid until a date.
    until = date.today() + timedelta(days=30)
    page.get_by_role("link", name="Создание направления").click()
    page.get_by_label("Специальность").select_option(label="Эндокринология")
    page.get_by_text("Выбрать врача").click()
    page.get_by_label("Врач").select_option(label="Соколова Елена Игоревна — Эндокринология")
    page.get_by_label("Действительно до").fill(until.isoformat())
    page.get_by_label("Обоснование направления").fill("Гликемия натощак 8,2 ммоль/л")
    page.get_by_role("button", name="Далее").click()
    expect(page.locator("dl.facts")).to_contain_text("Соколова Елена Игоревна")
    page.get_by_role("button", name="Информация верна, создать направление").click()
    expect(page.locator("tr", has_text="Гликемия натощак")).to_contain_text(until.strftime("%d.%m.%Y"))

    referrals = {r.justification: r for r in Referral.select()}
    to_specialty = referrals["Эпизоды онемения левой руки"]
    assert to_specialty.specialty.name == "Неврология" and to_specialty.consultant_id is None
    assert to_specialty.valid_until is None and to_specialty.source_appeal_id == appeal.id
    to_doctor = referrals["Гликемия натощак 8,2 ммоль/л"]
    assert to_doctor.consultant_id == data.consultants["sokolova"] and to_doctor.valid_until == until
    assert to_doctor.post_id == appeal.post_id and to_doctor.patient_id == appeal.patient_id

    # «Запись на консультацию» into the first free slot of another cardiologist.
    smirnov = Staff.get_by_id(data.consultants["smirnov"])
    # Far enough ahead to be still free when the form is sent, however long the run so far.
    slot = free_slots(smirnov.id, now=utcnow() + timedelta(minutes=15))[0]
    zone = ZoneInfo(Staff.get_by_id(data.consultants["ivanova"]).timezone)
    local = slot.starts_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    page.get_by_role("link", name="Запись на консультацию").click()
    page.get_by_label("Врач").select_option(label="Смирнов Алексей Викторович — Кардиология")
    page.get_by_role("button", name="Изменить дату и время").click()
    expect(page.get_by_role("heading", name="Смирнов Алексей Викторович · Кардиология")).to_be_visible()
    page.locator(".slots").get_by_text(local.strftime("%H:%M"), exact=True).first.click()
    page.get_by_label("Текст обращения").fill("Контроль АД через неделю после коррекции терапии")
    page.locator("fieldset.consent-step").get_by_role("radio", name="Пациент:").check()  # the ИДС
    page.get_by_role("button", name="Далее").click()
    expect(page.get_by_role("heading", name="Проверьте данные обращения")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text(local.strftime("%d.%m.%Y %H:%M"))
    page.get_by_role("button", name="Информация верна, создать обращение").click()
    expect(page.get_by_text("Обращение создано: Смирнов Алексей Викторович")).to_be_visible()

    booked = Appeal.get((Appeal.slot == slot.id) & (Appeal.id != appeal.id))
    assert booked.consultant_id == smirnov.id and booked.patient_id == appeal.patient_id
    assert booked.status == AppealStatus.NEW and booked.kind == AppealKind.REPEAT
    assert booked.post_id == appeal.post_id and "Контроль АД" in booked.question
    assert booked.consent_by == "patient" and booked.consent_at is not None


def test_the_administrator_keeps_regions_organisations_and_specialties(
    browser: Browser,
    central: str,
) -> None:
    page = open_central_as(browser, central, "admin")
    choose_in_menu(page, "Администрирование")

    page.get_by_role("link", name="Регионы").first.click()
    page.get_by_label("Название региона").fill("Псковская область")
    page.get_by_label("Часовой пояс").select_option("Europe/Moscow")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_text("Регион «Псковская область» сохранён")).to_be_visible()
    page.locator("tr", has_text="Псковская область").get_by_role("link", name="Изменить").click()
    page.get_by_label("Название региона").fill("Псковская обл.")
    page.get_by_label("Часовой пояс").select_option("Europe/Samara")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.locator("tr", has_text="Псковская обл.")).to_contain_text("Europe/Samara")
    region = Region.get(Region.name == "Псковская обл.")
    assert region.timezone == "Europe/Samara"

    page.get_by_role("link", name="Организации").first.click()
    page.get_by_label("Название организации").fill("Псковская областная больница")
    page.get_by_label("Тип организации").select_option(label="Консультативный центр")
    page.get_by_label("Регион").select_option(label="Псковская обл.")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_text("Организация «Псковская областная больница» сохранена")).to_be_visible()
    page.locator("tr", has_text="Псковская областная больница").get_by_role("link", name="Изменить").click()
    page.get_by_label("Адрес").fill("г. Псков, ул. Малясова, 2")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.locator("tr", has_text="Псковская областная больница")).to_contain_text("ул. Малясова, 2")
    centre = Organization.get(Organization.name == "Псковская областная больница")
    assert centre.kind == "centre" and centre.region_id == region.id

    # A region with an organisation in it is not deleted; once it is empty, it is.
    page.get_by_role("link", name="Регионы").first.click()
    page.locator("tr", has_text="Псковская обл.").get_by_role("button", name="Удалить").click()
    expect(page.get_by_role("alert")).to_contain_text("нельзя удалить: в нём есть организации (1)")
    page.get_by_role("link", name="Организации").first.click()
    page.locator("tr", has_text="Псковская областная больница").get_by_role("button", name="Удалить").click()
    expect(page.get_by_text("Организация «Псковская областная больница» удалена")).to_be_visible()
    page.get_by_role("link", name="Регионы").first.click()
    page.locator("tr", has_text="Псковская обл.").get_by_role("button", name="Удалить").click()
    expect(page.get_by_text("Регион «Псковская обл.» удалён")).to_be_visible()
    assert Region.get_by_id(region.id).deleted and Organization.get_by_id(centre.id).deleted

    page.get_by_role("link", name="Специальности").first.click()
    page.get_by_label("Название специальности").fill("Ревматология")
    page.get_by_role("button", name="Сохранить").click()
    page.locator("tr", has_text="Ревматология").get_by_role("link", name="Изменить").click()
    page.get_by_label("Код (необязательно)").fill("RHEUM")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.locator("tr", has_text="Ревматология")).to_contain_text("RHEUM")
    # One that consultants see patients in stays.
    page.locator("tr", has_text="Кардиология").get_by_role("button", name="Удалить").click()
    expect(page.get_by_role("alert")).to_contain_text("по ней ведут приём консультанты (2)")
    page.locator("tr", has_text="Ревматология").get_by_role("button", name="Удалить").click()
    expect(page.get_by_text("Специальность «Ревматология» удалена")).to_be_visible()
    assert Specialty.get(Specialty.name == "Ревматология").deleted
    assert not Specialty.get(Specialty.name == "Кардиология").deleted


def test_the_administrator_sets_a_consultants_visibility_and_the_consultant_sees_it(
    browser: Browser,
    central: str,
) -> None:
    admin = open_central_as(browser, central, "admin")
    choose_in_menu(admin, "Администрирование")
    admin.get_by_role("link", name="Пользователи").first.click()
    admin.get_by_role("link", name="Иванова Мария Сергеевна").click()
    expect(admin.get_by_label("Все пациенты региона")).to_be_checked()
    admin.get_by_label("Только пациенты, которым врач выдал направление").check()
    admin.get_by_role("button", name="Сохранить").click()
    expect(admin.get_by_text("Изменения сохранены: Иванова Мария Сергеевна")).to_be_visible()
    assert Staff.get(Staff.last_name == "Иванова").visibility == "referred"

    doctor = open_central_as(browser, central, "ivanova")
    choose_in_menu(doctor, "Профиль")
    facts = doctor.locator("dl.facts")
    expect(facts).to_contain_text("Только пациенты, которым врач выдал направление")
    expect(doctor.get_by_text("обратитесь к куратору проекта")).to_be_visible()
