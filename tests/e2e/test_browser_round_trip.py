"""The same round trip through both UIs in Debian chromium, by their visible Russian labels."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import chromium
from tests.helpers.cluster import Cluster, eventually, login_works


# Both ways central is served: Werkzeug (the demo's) and gunicorn (production's).
@pytest.fixture(params=["werkzeug", "gunicorn"])
def cluster(tmp_path: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path, central_server=request.param)
    yield cluster
    cluster.stop_all()


def _login(page: Page, base: str, login: str) -> None:
    page.goto(f"{base}/login")
    expect(page.get_by_role("heading", name="Вход в личный кабинет")).to_be_visible()
    page.get_by_label("Логин").fill(login)
    page.get_by_label("Пароль").fill("demo1234")
    page.get_by_role("button", name="Войти").click()


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_feldsher_books_offline_consultant_closes_post_reads_protocol(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.start_central()
    cluster.start_post(0)
    post = cluster.post_url(0)
    eventually(lambda: login_works(post, "fap1"), what="the first sync")
    cluster.stop_central(kill=True)

    with chromium() as browser:
        kiosk = browser.new_context(locale="ru-RU", accept_downloads=True).new_page()
        _login(kiosk, post, "fap1")
        expect(kiosk.get_by_role("heading", name="Новые обращения", level=1)).to_be_visible()
        kiosk.get_by_role("link", name="Записать пациента").first.click()
        kiosk.get_by_label("Номер телефона, СНИЛС или полис ОМС").fill("8 915 111-22-33")
        kiosk.get_by_role("button", name="Найти").click()
        expect(kiosk.get_by_text("Кузьмин Пётр Васильевич")).to_be_visible()
        kiosk.get_by_role("link", name="Выбрать пациента").click()
        kiosk.get_by_label("Специальность").select_option(label="Кардиология")
        card = kiosk.locator(".consultant-card", has_text="Иванова Мария Сергеевна")
        card.get_by_role("link", name="Выбрать врача").click()
        expect(kiosk.get_by_role("heading", name="Изменить дату и время")).to_be_visible()
        kiosk.locator(".slots label").first.click()
        kiosk.get_by_role("button", name="Далее").click()
        kiosk.get_by_label("Основной вопрос").fill(
            "Одышка при нагрузке, отёки голеней: нужна ли госпитализация?"
        )
        kiosk.get_by_label("Данные осмотра").fill("АД 170/95, ЧСС 96, SpO2 93 %")
        kiosk.get_by_role("radio", name="Пациент: Кузьмин Пётр Васильевич").check()  # the ИДС
        kiosk.get_by_role("button", name="Далее").click()
        kiosk.get_by_role("button", name="Информация верна, создать обращение").click()
        expect(kiosk.get_by_text("Обращение создано")).to_be_visible()
        expect(kiosk.get_by_text("ещё не отправлено")).to_be_visible()

        cluster.start_central()
        kiosk.get_by_role("button", name="Синхронизировать сейчас").click()

        doctor = browser.new_context(locale="ru-RU", accept_downloads=True).new_page()
        _login(doctor, cluster.central_url, "ivanova")
        expect(doctor.get_by_role("heading", name="Новые обращения", level=1)).to_be_visible()

        def appeal_listed() -> bool:
            doctor.goto(f"{cluster.central_url}/appeals?queue=new")
            return doctor.get_by_text("Кузьмин Пётр Васильевич").count() > 0

        eventually(appeal_listed, what="the appeal in the consultant's «Новые обращения»")
        doctor.get_by_text("Кузьмин Пётр Васильевич").first.click()
        expect(doctor.get_by_text("Одышка при нагрузке")).to_be_visible()
        doctor.get_by_role("button", name="Взять в работу").click()
        expect(doctor.get_by_text("Обращение взято в работу")).to_be_visible()
        doctor.get_by_role("link", name="Протокол").click()
        doctor.get_by_label("Анамнез").fill("ХСН, ИБС в анамнезе")
        doctor.get_by_label("Рекомендации", exact=True).fill("Фуросемид 40 мг утром, контроль веса ежедневно")
        doctor.get_by_label("Код МКБ-10").fill("I50.0")
        doctor.get_by_label("Заболевание").fill("Застойная сердечная недостаточность")
        doctor.get_by_role("button", name="Отправить протокол").click()
        expect(doctor.get_by_text("Протокол отправлен, обращение закрыто")).to_be_visible()
        with doctor.expect_download() as central_pdf:
            doctor.get_by_role("link", name="Скачать протокол").click()
        central_path = tmp_path / "central.pdf"
        central_pdf.value.save_as(central_path)
        assert "Фуросемид 40 мг утром" in _pdf_text(central_path)

        kiosk.get_by_role("button", name="Синхронизировать сейчас").click()

        def closed_with_pdf() -> bool:
            kiosk.goto(f"{post}/appeals?queue=closed")
            if kiosk.get_by_text("Кузьмин Пётр Васильевич").count() == 0:
                return False
            kiosk.get_by_text("Кузьмин Пётр Васильевич").first.click()
            return kiosk.get_by_role("link", name="Скачать протокол").count() > 0

        eventually(closed_with_pdf, what="the closed appeal with its PDF at the post")
        expect(kiosk.get_by_text("Фуросемид 40 мг утром")).to_be_visible()
        expect(kiosk.get_by_text("I50.0")).to_be_visible()
        with kiosk.expect_download() as post_pdf:
            kiosk.get_by_role("link", name="Скачать протокол").click()
        post_path = tmp_path / "post.pdf"
        post_pdf.value.save_as(post_path)
        text = _pdf_text(post_path)
        assert "Фуросемид 40 мг утром, контроль веса ежедневно" in text
        assert "Застойная сердечная недостаточность" in text
