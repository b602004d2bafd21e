"""The feldsher's and the consultant's day, in Debian chromium at 1024×768, by the visible labels.

Feldsher: the post's link is cut; an appeal made offline, with a file and a device reading,
says so everywhere; the link comes back and it goes. Consultant: takes it in work, chats,
calls by video (the kiosk's call panel docks beside the patient's card), writes the protocol,
signs it, issues a referral. The post receives the signed protocol. On every page: no UTC
or ISO time, no English; on the kiosk's pages also no touch target under 44 px.

The last part — the consultant's «Настройки» device check and the referral in «Направления» —
follows the other consultant pages of issue 16 and comes last on purpose.

Times do not depend on the clock: the appeal is urgent and booked without a slot, so the
15-minute rule never waits for one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from faplink.demo_link import LinkSwitch
from hardware.simulators import create
from tests.helpers.appeals import PASSPHRASE
from tests.helpers.browser import sign_in
from tests.helpers.call_browser import call_browser, call_stats
from tests.helpers.cluster import Cluster, eventually, login_works
from tests.helpers.pagecheck import check_page, english_words, screenshot_dir, utc_or_iso
from tests.kiosk import samples

PATIENT = "Кузьмин Пётр Васильевич"
QUESTION = "Одышка и отёки голеней нарастают третий день: нужна ли госпитализация?"
SIZE = {"width": 1024, "height": 768}
LIVE_MS = 30_000  # a ceiling: the status and the chat reach the kiosk in about a second when idle


@pytest.fixture
def day(tmp_path: Path) -> Iterator[tuple[Cluster, LinkSwitch]]:
    oximeter = create("cms50")
    port = oximeter.start()
    cluster = Cluster(tmp_path)
    cluster.env["FAPLINK_DEVICE_PORTS"] = json.dumps(
        [{"port": port, "protocol": "cms50", "label": "Пульсоксиметр"}]
    )
    switch = LinkSwitch(0, cluster.port)  # the post's cable to central
    cluster.route_post_through(0, switch.port)
    try:
        yield cluster, switch
    except Exception:
        print(cluster.logs())
        raise
    finally:
        cluster.stop_all()
        switch.close()
        oximeter.stop()


#: Chromium's fake microphone names itself so: a device's name, as «Logitech USB Headset» would be.
FAKE_DEVICES = ("Fake Default Audio Input",)


def _words(page: Page, where: str) -> None:
    """A consultant's page: one time format, no English (its sizes are a desktop's)."""
    page.wait_for_load_state("load")
    text = page.locator("body").inner_text()
    for name in FAKE_DEVICES:
        text = text.replace(name, "")
    assert not utc_or_iso(text), f"{where}: {utc_or_iso(text)}"
    assert not english_words(text), f"{where}: {english_words(text)}"


def _menu(page: Page, label: str) -> None:
    page.locator("details.usermenu summary").click()
    page.locator("details.usermenu").get_by_role("link", name=label, exact=True).click()


def _wait_for(page: Page, url: str, selector: str, what: str, timeout: float = 30) -> None:
    """Open `url` until `selector` is on it. The appeal page reloads itself when the appeal
    changes (live.js): a visit that meets such a reload is tried again."""

    def shown() -> bool:
        try:
            page.goto(url)
            return page.locator(selector).count() > 0
        except PlaywrightError:
            return False

    eventually(shown, timeout=timeout, what=what)


def _offline_appeal(kiosk: Page, post: str, shots: Path, tmp_path: Path) -> str:
    """The feldsher, with no link: an exam with the oximeter's reading, then an urgent appeal
    with a file. Returns the appeal page's URL."""
    kiosk.locator(".mainnav").get_by_role("link", name="Пациенты").click()
    kiosk.get_by_label("Номер телефона, СНИЛС или полис ОМС").fill("8 915 111-22-33")
    kiosk.get_by_role("button", name="Найти").click()
    kiosk.get_by_role("link", name="Карта пациента").first.click()
    kiosk.get_by_role("link", name="Новое обследование").click()
    spo2 = kiosk.locator("tr", has_text="SpO2")
    take = spo2.get_by_role("button", name="Взять показание")
    expect(take).to_be_enabled(timeout=20_000)  # the oximeter's reading has arrived
    take.click()
    expect(spo2.get_by_label("SpO2")).not_to_have_value("")
    kiosk.get_by_label("Жалобы").fill("Одышка при ходьбе, отёки голеней")
    check_page(kiosk, "day-exam", shots)
    kiosk.get_by_role("button", name="Сохранить обследование").click()
    expect(kiosk.get_by_text("Обследование сохранено")).to_be_visible()

    kiosk.locator(".actions").get_by_role("link", name="Записать пациента").click()
    kiosk.get_by_label("Специальность").select_option(label="Кардиология")
    kiosk.locator(".consultant-card", has_text="Иванова Мария Сергеевна").get_by_role(
        "link", name="Выбрать врача"
    ).click()
    kiosk.get_by_role("radio", name=re.compile("Без записи на время")).check()
    kiosk.get_by_role("button", name="Далее").click()
    kiosk.get_by_label("Форма оказания помощи").select_option("urgent")
    kiosk.get_by_label("Основной вопрос").fill(QUESTION)
    ecg = tmp_path / "ЭКГ.pdf"
    ecg.write_bytes(samples.pdf("ECG: sinus rhythm 96"))
    kiosk.get_by_label("Прикрепить файлы").set_input_files(str(ecg))
    expect(kiosk.locator(".staged-files").get_by_role("link", name="ЭКГ.pdf")).to_be_visible()
    kiosk.get_by_role("radio", name=f"Пациент: {PATIENT}").check()
    kiosk.get_by_role("button", name="Далее").click()
    expect(kiosk.get_by_role("heading", name="Проверьте данные обращения")).to_be_visible()
    check_page(kiosk, "day-review", shots)
    kiosk.get_by_role("button", name="Информация верна, создать обращение").click()
    expect(kiosk.get_by_text("Обращение создано")).to_be_visible()

    # The truth, offline: on the appeal, in the bar, on the sync page. (While a retry round is
    # on its way the bar says «синхронизация…» for a moment: the texts are read once it is over.)
    appeal_url = kiosk.url
    _wait_for(kiosk, appeal_url, "#syncbar[data-online=no]", "the appeal page offline")
    expect(kiosk.locator("#not-sent")).to_contain_text("уйдёт в центр, когда появится связь")
    expect(kiosk.locator(".section-title .badge.pending")).to_have_text("ещё не отправлено")
    expect(kiosk.locator("#syncbar")).to_contain_text("нет связи с центром")
    expect(kiosk.locator("#syncbar")).to_contain_text("Уйдёт в центр, когда появится связь")
    expect(kiosk.locator("#syncbar-queue")).to_contain_text(re.compile(r"Ждут отправки: [1-9]"))
    check_page(kiosk, "day-appeal-offline", shots)
    _wait_for(kiosk, f"{post}/sync", "#sync-reason", "the reason on the sync page")
    expect(kiosk.locator("#sync-reason")).to_contain_text("Нет связи с центром")
    expect(kiosk.locator("#sync-queue")).to_contain_text("файлов: ")
    check_page(kiosk, "day-sync-offline", shots)
    return appeal_url


def _consultant_takes_chats_and_calls(
    doctor: Page, kiosk: Page, central: str, appeal_url: str, shots: Path
) -> None:
    def listed() -> bool:
        doctor.goto(f"{central}/appeals?queue=new")
        return doctor.get_by_text(PATIENT).count() > 0

    eventually(listed, what="the appeal in «Новые обращения»")
    _words(doctor, "central: Новые обращения")
    doctor.get_by_text(PATIENT).first.click()
    expect(doctor.get_by_text(QUESTION)).to_be_visible()
    doctor.get_by_role("button", name="Взять в работу").click()
    expect(doctor.get_by_text("Обращение взято в работу")).to_be_visible()
    expect(doctor.get_by_role("link", name="ЭКГ.pdf", exact=True)).to_be_visible()
    expect(doctor.locator("body")).to_contain_text("SpO2")  # the exam came with the appeal
    _words(doctor, "central: the appeal in work")

    # Chat: the consultant asks, the post answers; both live.
    _wait_for(kiosk, appeal_url, ".section-title .badge.synced", "the appeal «в центре» at the post")
    doctor.get_by_label("Сообщение").fill("Какой вес сегодня и неделю назад?")
    doctor.get_by_role("button", name="Отправить").click()
    expect(kiosk.locator("#chat")).to_contain_text("Какой вес сегодня и неделю назад?", timeout=LIVE_MS)
    kiosk.get_by_label("Сообщение").fill("Сегодня 84 кг, неделю назад 81 кг")
    kiosk.get_by_role("button", name="Отправить").click()
    expect(doctor.locator("#chat")).to_contain_text("Сегодня 84 кг", timeout=LIVE_MS)

    # Video: the consultant calls, the kiosk answers; the panel docks beside the patient's card.
    call = doctor.get_by_role("button", name="Видеозвонок", exact=True)
    expect(call).to_be_enabled(timeout=LIVE_MS)
    expect(kiosk.get_by_role("button", name="Видеозвонок", exact=True)).to_be_enabled(timeout=LIVE_MS)
    call.click()
    panel = kiosk.locator("#call-panel")
    expect(panel).to_contain_text("Входящий видеозвонок", timeout=LIVE_MS)
    kiosk.get_by_role("button", name="Принять").click()
    expect(panel.locator(".call-title")).to_have_text("Видеозвонок")  # answered: no longer «Входящий»
    expect(panel.locator(".call-status")).to_have_text("Идёт видеозвонок", timeout=LIVE_MS)
    eventually(
        lambda: (s := call_stats(kiosk)) and s["framesDecoded"] > 0, timeout=25, what="video at the post"
    )
    eventually(
        lambda: (s := call_stats(doctor)) and s["framesDecoded"] > 0, timeout=25, what="video at central"
    )
    card = kiosk.locator("section.card", has=kiosk.get_by_role("heading", name="Пациент", exact=True))
    card.scroll_into_view_if_needed()
    box, docked = card.bounding_box(), panel.bounding_box()
    assert box and docked and box["x"] + box["width"] <= docked["x"], (box, docked)  # side by side
    check_page(kiosk, "day-call", shots)
    kiosk.get_by_role("button", name="Завершить").click()
    expect(panel).to_be_hidden()


def _protocol_signature_referral(doctor: Page) -> None:
    appeal_at_central = doctor.url
    doctor.get_by_role("link", name="Протокол").click()
    doctor.get_by_label("Анамнез").fill("ХСН, ИБС в анамнезе; прибавка веса 3 кг за неделю")
    doctor.get_by_label("Рекомендации", exact=True).fill("Фуросемид 40 мг утром, контроль веса ежедневно")
    doctor.get_by_label("Код МКБ-10").fill("I50.0")
    doctor.get_by_label("Заболевание").fill("Застойная сердечная недостаточность")
    doctor.get_by_role("button", name="Отправить протокол").click()
    expect(doctor.get_by_text("Протокол отправлен, обращение закрыто")).to_be_visible()

    doctor.get_by_role("link", name="Подписание протокола").click()
    doctor.get_by_label("Новый пароль подписи").fill(PASSPHRASE)
    doctor.get_by_label("Повторите пароль").fill(PASSPHRASE)
    doctor.get_by_role("button", name="Создать подпись").click()
    expect(doctor.get_by_text("Подпись создана")).to_be_visible()
    doctor.get_by_label("Иванова Мария Сергеевна").check()
    doctor.get_by_label("Пароль подписи", exact=True).fill(PASSPHRASE)
    doctor.get_by_role("button", name="Подписать протокол").click()
    expect(doctor.get_by_text("Протокол подписан")).to_be_visible()
    expect(doctor.get_by_text(re.compile(r"подписано \d{2}\.\d{2}\.\d{4} \d{2}:\d{2}\sМСК"))).to_be_visible()
    _words(doctor, "central: the signed protocol")

    doctor.goto(appeal_at_central)
    doctor.get_by_role("link", name="Маршрутизация").click()
    doctor.get_by_role("link", name="Создание направления").click()
    doctor.get_by_label("Специальность").select_option(label="Неврология")
    doctor.get_by_label("Бессрочно").check()
    doctor.get_by_label("Обоснование направления").fill("Эпизоды головокружения на фоне диуретиков")
    doctor.get_by_role("button", name="Далее").click()
    doctor.get_by_role("button", name="Информация верна, создать направление").click()
    expect(doctor.get_by_text("Направление создано")).to_be_visible()
    _words(doctor, "central: routing")


def _post_receives_the_signed_protocol(kiosk: Page, appeal_url: str, shots: Path) -> None:
    _wait_for(kiosk, appeal_url, "#signature .flash-success", "the signed protocol at the post", timeout=45)
    expect(kiosk.get_by_text("Фуросемид 40 мг утром, контроль веса ежедневно")).to_be_visible()
    expect(kiosk.locator("#signature")).to_contain_text(
        re.compile(r"подписано \d{2}\.\d{2}\.\d{4} \d{2}:\d{2}\sМСК")
    )
    expect(kiosk.get_by_role("link", name="Скачать подписанный протокол")).to_be_visible()
    check_page(kiosk, "day-appeal-closed", shots)


def _final_part_consultant_settings_and_referrals(doctor: Page, central: str) -> None:
    """«Настройки»: the consultant's camera, microphone and speakers (the manual starts a
    consultation there); «Направления»: the referral issued today."""
    _menu(doctor, "Настройки")
    expect(doctor.get_by_role("heading", name="Настройки", level=1)).to_be_visible()
    doctor.get_by_role("button", name="Проверить камеру").click()
    # (the camera's frame rate is measured over a few seconds; a busy machine takes longer)
    expect(doctor.locator("#camera-result")).to_have_attribute("data-status", "ok", timeout=30_000)
    expect(doctor.locator("#camera-result")).to_contain_text("норма")
    doctor.get_by_role("button", name="Проверить микрофон").click()
    expect(doctor.locator("#mic-result")).to_have_attribute("data-status", "ok", timeout=30_000)
    _words(doctor, "central: Настройки")
    _menu(doctor, "Направления")
    row = doctor.locator("tr", has_text="Неврология")
    expect(row).to_contain_text(PATIENT)
    _words(doctor, "central: Направления")


def test_the_feldshers_and_the_consultants_day(day: tuple[Cluster, LinkSwitch], tmp_path: Path) -> None:
    cluster, switch = day
    cluster.start_central()
    cluster.start_post(0)
    post, central = cluster.post_url(0), cluster.central_url
    eventually(lambda: login_works(post, "fap1"), what="the first sync")
    switch.cut()
    shots = screenshot_dir(tmp_path / "screens")

    with call_browser() as browser:
        kiosk = browser.new_context(
            locale="ru-RU", viewport=SIZE, permissions=["camera", "microphone"]
        ).new_page()
        sign_in(kiosk, post, "fap1")

        def offline() -> bool:
            kiosk.reload()
            return kiosk.locator("#syncbar[data-online=no]").count() > 0

        eventually(offline, what="the post to see its link is gone")
        appeal_url = _offline_appeal(kiosk, post, shots, tmp_path)

        switch.mend()
        kiosk.goto(appeal_url)
        kiosk.get_by_role("button", name="Синхронизировать сейчас").click()

        doctor = browser.new_context(
            locale="ru-RU", viewport=SIZE, permissions=["camera", "microphone"]
        ).new_page()
        sign_in(doctor, central, "ivanova")
        kiosk.goto(appeal_url)
        _consultant_takes_chats_and_calls(doctor, kiosk, central, appeal_url, shots)
        _protocol_signature_referral(doctor)
        _post_receives_the_signed_protocol(kiosk, appeal_url, shots)

        # -- The final part: the consultant pages the manual starts and ends a day with. --
        _final_part_consultant_settings_and_referrals(doctor, central)
