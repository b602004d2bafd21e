"""The feldsher's kiosk in Debian chromium, central stopped, by the visible Russian labels.

One post, one simulated pulse oximeter, every workflow of the kiosk (patients,
exam with a device reading, files and a webcam photo, «Записать пациента» with
results attached, «Направления», «Профиль», «Настройки», «Нужна помощь»), bad
input on the way; then central starts and everything arrives there; then the
idle timeout and the lock-out.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from hardware.simulators import create
from tests.helpers.browser import chromium
from tests.helpers.cluster import Cluster, eventually, login_works
from tests.kiosk import samples

PATIENT = "Кузьмин Пётр Васильевич"
QUESTION = "Гипоксемия и гипертензия: нужна ли госпитализация?"
REASON = "Давление 250/100 снижено на ФАПе, пациент отказывается ехать в ЦРБ"


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    oximeter = create("cms50")
    port = oximeter.start()
    cluster = Cluster(tmp_path)
    cluster.env["FAPLINK_DEVICE_PORTS"] = json.dumps(
        [{"port": port, "protocol": "cms50", "label": "Пульсоксиметр"}]
    )
    yield cluster
    cluster.stop_all()
    oximeter.stop()


def _login(page: Page, base: str, password: str = "demo1234") -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Логин").fill("fap1")
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()


def _menu(page: Page, label: str) -> None:
    page.locator("details.usermenu summary").click()
    page.locator("details.usermenu").get_by_role("link", name=label, exact=True).click()


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _central(cluster: Cluster, sql: str, *args: object) -> list[tuple]:  # type: ignore[type-arg]
    db = Path(cluster.plan["central"]["dir"]) / "central.db"  # type: ignore[index]
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def _patients_and_exam(page: Page, post: str, tmp_path: Path) -> None:
    page.get_by_role("link", name="Пациенты").click()
    page.get_by_label("Номер телефона, СНИЛС или полис ОМС").fill("8 915 111-22-33")
    page.get_by_role("button", name="Найти").click()
    page.get_by_role("link", name="Карта пациента").first.click()
    expect(page.get_by_role("heading", name=PATIENT)).to_be_visible()
    page.get_by_role("link", name="Изменить данные").click()
    page.get_by_label("СНИЛС").fill("112-233-445 96")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_text("Контрольное число СНИЛС не сходится")).to_be_visible()
    page.get_by_label("СНИЛС").fill("")
    page.get_by_label("Адрес").fill("ул. Садовая, 14")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_text("Данные пациента сохранены")).to_be_visible()

    with page.expect_websocket() as socket:
        page.get_by_role("link", name="Новое обследование").click()
    # Live readings arrive over the node's Socket.IO while the form is open.
    socket.value.expect_event("framereceived", lambda frame: '"reading"' in str(frame), timeout=20_000)
    page.get_by_label("Жалобы").fill("Одышка при ходьбе")
    page.get_by_label("Объективный статус").fill("Цианоз губ, отёки голеней")
    spo2 = page.locator("tr", has_text="SpO2")
    take = spo2.get_by_role("button", name="Взять показание")
    expect(take).to_be_enabled(timeout=20_000)  # the oximeter's reading has arrived
    take.click()
    expect(spo2.get_by_label("SpO2")).not_to_have_value("")
    expect(spo2.locator(".source")).not_to_have_text("вручную")
    page.get_by_label("Систолическое АД").fill("250")
    page.get_by_label("Диастолическое АД").fill("100")
    page.get_by_label("Частота дыхания").fill("18")
    page.get_by_label("Сознание").select_option("A")
    page.get_by_label("дышит воздухом").check()
    page.get_by_label("Пульс").fill("abc")
    page.get_by_role("button", name="Сохранить обследование").click()
    expect(page.get_by_text("Пульс: «abc» — не число")).to_be_visible()
    page.get_by_label("Пульс").fill("96")
    page.get_by_label("Глюкоза крови", exact=True).fill("54")
    page.get_by_label("Единица: Глюкоза крови").select_option(label="мг/дл")
    page.get_by_role("button", name="Сохранить обследование").click()
    expect(page.get_by_text("Обследование сохранено")).to_be_visible()
    expect(page.get_by_role("heading", name="Опасные значения показателей")).to_be_visible()
    expect(page.get_by_text("Систолическое АД: 250 мм рт. ст. — 3 балла NEWS2")).to_be_visible()
    # NEWS2 (no temperature yet): systolic 3, pulse 1, the oximeter's SpO2 (95–99 %) 0 or 1.
    expect(page.locator(".news2-score")).to_contain_text(re.compile(r"NEWS2: [45]\b"))
    expect(page.locator(".news2-score")).to_contain_text("неполная оценка")
    expect(page.locator("table.news2 tr", has_text="Сознание")).to_contain_text("A — ясное")
    expect(page.locator("table.news2 tr", has_text="Кислород")).to_contain_text("дышит воздухом")
    expect(page.get_by_text("Не указаны: Температура тела.")).to_be_visible()
    expect(page.get_by_text("Глюкоза крови 3 ммоль/л")).to_have_count(0)  # 54 mg/dL = 3.0 mmol/L: no flag
    expect(page.locator("svg.vital-chart").first).to_be_visible()

    page.get_by_label("Прикрепить файлы").set_input_files(str(_file(tmp_path, "анализ.pdf", samples.png())))
    page.get_by_role("button", name="Прикрепить", exact=True).click()
    expect(page.get_by_text("на самом деле PNG: содержимое не совпадает с расширением")).to_be_visible()
    page.get_by_label("Прикрепить файлы").set_input_files(str(_file(tmp_path, "ОАК.docx", samples.docx())))
    page.get_by_role("button", name="Прикрепить", exact=True).click()
    page.get_by_role("link", name="ОАК.docx").click()
    frame = page.frame_locator("#preview-dialog iframe")
    expect(frame.get_by_text("Общий анализ крови: гемоглобин 128 г/л")).to_be_visible()
    page.get_by_role("button", name="Закрыть").click()
    page.get_by_role("button", name="Сделать фото").click()
    expect(page.locator(".camera video")).to_be_visible()
    page.get_by_role("button", name="Снимок").click()
    expect(page.get_by_text("фото с веб-камеры")).to_be_visible()


def _book(page: Page, tmp_path: Path) -> None:
    page.locator(".actions").get_by_role("link", name="Записать пациента").click()
    expect(page.get_by_role("heading", name="Опасные значения показателей")).to_be_visible()
    page.get_by_label("Специальность").select_option(label="Кардиология")
    page.locator(".consultant-card", has_text="Иванова Мария Сергеевна").get_by_role(
        "link", name="Выбрать врача"
    ).click()
    page.locator(".slots label").first.click()
    page.get_by_role("button", name="Далее").click()
    expect(page.get_by_text("Рассмотрите повышение формы оказания помощи: неотложная")).to_be_visible()
    expect(page.get_by_label("Форма оказания помощи")).to_have_value("urgent")
    expect(page.get_by_label("Жалобы")).to_have_value("Одышка при ходьбе")
    expect(page.get_by_label("Данные осмотра")).to_contain_text("АД 250/100 мм рт. ст.")
    page.get_by_label("Основной вопрос").fill(QUESTION)
    expect(
        page.get_by_role("heading", name="Прикрепите результаты инструментальных и лабораторных исследований")
    ).to_be_visible()
    page.get_by_label("Прикрепить файлы").set_input_files(str(_file(tmp_path, "ЭКГ.pdf", samples.pdf())))
    expect(page.locator(".staged-files").get_by_role("link", name="ЭКГ.pdf")).to_be_visible()
    # The ИДС: without it the appeal is not sent; the patient gives it, with a scan of the form.
    consent = page.locator("fieldset.consent-step")
    expect(consent.get_by_text("Информированное добровольное согласие (ИДС)")).to_be_visible()
    page.get_by_role("button", name="Далее").click()
    expect(page.get_by_text("Без информированного добровольного согласия (ИДС)")).to_be_visible()
    consent.get_by_role("radio", name=f"Пациент: {PATIENT}").check()
    consent.get_by_label("Фото или скан подписанного ИДС (если есть)").set_input_files(
        str(_file(tmp_path, "ИДС.pdf", samples.pdf("Informed consent")))
    )
    # A less urgent form than the vitals propose needs the feldsher's reason.
    page.get_by_label("Форма оказания помощи").select_option("planned")
    page.get_by_role("button", name="Далее").click()
    expect(page.get_by_text("чтобы выбрать «плановая», укажите причину")).to_be_visible()
    page.get_by_label("Причина выбора менее срочной формы").fill(REASON)
    page.get_by_role("button", name="Далее").click()
    expect(page.get_by_role("heading", name="Проверьте данные обращения")).to_be_visible()
    for name in ("ЭКГ.pdf", "ОАК.docx", "ИДС.pdf"):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    expect(page.locator("dd.consent")).to_contain_text(f"пациент: {PATIENT}")
    expect(page.get_by_text(REASON)).to_be_visible()
    page.get_by_role("button", name="Информация верна, создать обращение").click()
    expect(page.get_by_text("Обращение создано")).to_be_visible()


def _new_child(page: Page) -> None:
    """«Новый пациент» aged five: refused without a legal representative, then her guardian
    is found among the post's patients by phone."""
    page.get_by_role("link", name="Пациенты").click()
    page.get_by_role("link", name="Создать учётную запись пациента").click()
    page.get_by_label("Фамилия").fill("Кузьмина")
    page.get_by_label("Имя", exact=True).fill("Даша")
    born = date.today() - timedelta(days=5 * 365 + 40)
    page.get_by_label("Дата рождения").fill(born.isoformat())
    page.get_by_label(re.compile(r"^Пол(\s|$)")).select_option(label="женский")
    page.get_by_label("Телефон", exact=True).fill("8 915 111-22-33")
    page.get_by_role("button", name="Создать", exact=True).click()
    expect(page.get_by_text("Пациенту нет 15 лет: укажите законного представителя")).to_be_visible()
    page.get_by_label("Найти представителя среди пациентов поста").fill("8 915 111-22-33")
    page.get_by_role("button", name="Найти представителя").click()
    page.get_by_role("radio", name=PATIENT).check()
    page.get_by_label("Кем приходится пациенту").select_option(label="опекун")
    page.get_by_role("button", name="Создать", exact=True).click()
    child = page.locator(".patient-card", has_text="Кузьмина Даша")
    expect(child.locator("dt", has_text="Законный представитель")).to_be_visible()
    expect(child.locator("dd", has_text=PATIENT)).to_be_visible()


def _referral_profile_settings_help(page: Page) -> None:
    _menu(page, "Направления")
    page.get_by_role("link", name="Новое направление").click()
    page.get_by_label("Номер телефона, СНИЛС или полис ОМС").fill("8 915 111-22-33")
    page.get_by_role("button", name="Найти").click()
    page.get_by_role("link", name="Выбрать пациента").click()
    page.get_by_label("Специальность").select_option(label="Кардиология")
    page.get_by_label("Врач (необязательно)").select_option(label="Иванова Мария Сергеевна")
    page.get_by_label("Действует до").fill((date.today() - timedelta(days=2)).isoformat())
    page.get_by_label("Возможные заболевания").fill("Хроническая сердечная недостаточность?")
    page.get_by_label("Обоснование направления").fill("Нарастающая одышка, гипоксемия")
    page.get_by_role("button", name="Информация верна, создать направление").click()
    expect(page.get_by_text("Срок действия направления уже прошёл")).to_be_visible()
    page.get_by_label("Бессрочно").check()
    page.get_by_role("button", name="Информация верна, создать направление").click()
    expect(page.get_by_text("Направление создано")).to_be_visible()
    expect(page.locator("table").get_by_text(PATIENT)).to_be_visible()

    _menu(page, "Профиль")
    page.get_by_label("Часовой пояс").select_option(label="Екатеринбург (МСК+2)")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_text("Часовой пояс сохранён")).to_be_visible()

    _menu(page, "Настройки")
    expect(page.get_by_role("heading", name="Проверка оборудования")).to_be_visible()
    expect(page.get_by_role("heading", name="Медицинские приборы")).to_be_visible()
    expect(page.get_by_text("Пульсоксиметр ·").first).to_be_visible()

    page.locator(".topbar").get_by_role("link", name="Нужна помощь").click()
    page.get_by_label("Телефон для звонка").fill("12")
    page.get_by_label("Суть обращения").fill("Не включается камера")
    page.get_by_role("button", name="Заказать звонок").click()
    expect(page.get_by_role("alert").filter(has_text="телефон")).to_be_visible()
    page.get_by_label("Телефон для звонка").fill("8 915 111-22-33")
    page.get_by_role("button", name="Заказать звонок").click()
    expect(page.get_by_text("Заявка на звонок принята")).to_be_visible()
    expect(page.get_by_text("ещё не отправлено")).to_be_visible()


def test_the_kiosk_workflows_offline_then_everything_reaches_central(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.start_central()
    cluster.start_post(0)
    post = cluster.post_url(0)
    eventually(lambda: login_works(post, "fap1"), what="the first sync")
    cluster.stop_central(kill=True)

    with chromium() as browser:
        page = browser.new_context(locale="ru-RU", permissions=["camera"]).new_page()
        _login(page, post)
        expect(page.get_by_role("heading", name="Новые обращения", level=1)).to_be_visible()
        _patients_and_exam(page, post, tmp_path)
        _book(page, tmp_path)
        _referral_profile_settings_help(page)
        _new_child(page)

        cluster.start_central()
        page.get_by_role("button", name="Синхронизировать сейчас").click()
        appeal = eventually(
            lambda: _central(
                cluster,
                "SELECT id, form_of_care, proposed_form, form_reason FROM appeal WHERE question = ?",
                QUESTION,
            ),
            what="the appeal at central",
        )
        assert appeal[0][1:] == ("planned", "urgent", REASON)
        consent = _central(cluster, "SELECT consent_by, consent_at FROM appeal WHERE id = ?", appeal[0][0])
        assert consent[0][0] == "patient" and consent[0][1]
        files = eventually(
            lambda: (
                (
                    rows := _central(
                        cluster,
                        "SELECT filename, kind, sha256 FROM attachment WHERE appeal_id = ?",
                        appeal[0][0],
                    )
                )
                and len(rows) == 4
                and rows
            ),
            what="the appeal's four files at central",
        )
        assert sorted(f[1] for f in files) == ["consent", "file", "file", "photo"]
        assert "ЭКГ.pdf" in {f[0] for f in files} and "ОАК.docx" in {f[0] for f in files}
        blobs = Path(cluster.plan["central"]["dir"]) / "blobs"  # type: ignore[index]
        eventually(
            lambda: all((blobs / sha[:2] / sha).is_file() for _, _, sha in files), what="the files' bytes"
        )
        observations = eventually(
            lambda: _central(
                cluster,
                "SELECT o.loinc, o.value, o.unit, o.manual, o.device FROM observation o "
                "JOIN exam e ON o.exam_id = e.id "
                "WHERE e.appeal_id = ?",
                appeal[0][0],
            ),
            what="the exam with its vitals",
        )
        by_code = {o[0]: o for o in observations}
        assert by_code["59408-5"][3] == 0 and by_code["59408-5"][4]  # from the oximeter
        assert by_code["15074-8"][1:3] == (3.0, "mmol/L")
        eventually(
            lambda: _central(
                cluster,
                "SELECT 1 FROM referral WHERE justification = ? AND valid_until IS NULL",
                "Нарастающая одышка, гипоксемия",
            ),
            what="the referral",
        )
        eventually(
            lambda: _central(
                cluster, "SELECT 1 FROM support_request WHERE kind = 'callback' AND phone = '+79151112233'"
            ),
            what="the callback request",
        )
        eventually(
            lambda: _central(cluster, "SELECT 1 FROM patient WHERE address = 'ул. Садовая, 14'"),
            what="the edited address",
        )
        eventually(
            lambda: _central(
                cluster,
                "SELECT 1 FROM patient c JOIN patient r ON c.representative_id = r.id WHERE "
                "c.first_name = 'Даша' AND c.representative_relation = 'guardian' "
                "AND r.last_name = 'Кузьмин'",
            ),
            what="the child with her guardian",
        )

        # Idle: after the session's minutes without input, back to the login screen.
        page.clock.install()
        page.goto(f"{post}/patients")
        page.clock.fast_forward("31:00")
        expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
        expect(page.get_by_text("Сеанс завершён из-за бездействия")).to_be_visible()

        # Wrong passwords: three are free, then each try waits a few seconds (never a lock-out).
        for _ in range(3):
            _login(page, post, "неверный")
            expect(page.get_by_text("Неверный логин или пароль")).to_be_visible()
        _login(page, post)
        expect(page.get_by_text("Несколько неудачных попыток входа: подождите")).to_be_visible()
