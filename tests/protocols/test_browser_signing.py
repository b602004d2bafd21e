"""In Debian chromium, by the visible labels: a protocol with МКБ-10 suggestions and roles, signed,
downloaded."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from domain.models import Diagnosis, Organization
from protocol_signatures.pdf import verify_protocol
from tests.helpers.appeals import PASSPHRASE, new_appeal
from tests.helpers.browser import chromium, sign_in
from tests.helpers.web import served_in_thread


@pytest.fixture
def served(central) -> Iterator[tuple[str, Any]]:  # type: ignore[no-untyped-def]
    """central's app on a local port, in this process (its database stays inspectable)."""
    app, data = central
    with served_in_thread(app) as port:
        yield f"http://127.0.0.1:{port}", data


def _login(page: Page, base: str, login: str) -> None:
    sign_in(page, base, login)
    expect(page.get_by_role("heading", name="Новые обращения", level=1)).to_be_visible()


def test_consultant_signs_the_protocol_and_downloads_it(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, data = served
    appeal = new_appeal(data)
    with chromium() as browser:
        page = browser.new_context(locale="ru-RU", accept_downloads=True).new_page()
        # A ceiling: unlocking the PKCS#12, drawing the PDF and signing it take a few seconds of
        # CPU, which a machine busy with the whole suite gives slowly (20 s ran out once).
        page.set_default_timeout(60_000)
        _login(page, base, "ivanova")
        page.get_by_text("Кузьмин Пётр Васильевич").first.click()
        page.get_by_role("button", name="Взять в работу").click()
        expect(page.get_by_text("Обращение взято в работу")).to_be_visible()
        page.get_by_role("link", name="Протокол").click()
        page.get_by_label("Анамнез").fill("Гипертоническая болезнь 10 лет")
        page.get_by_label("Рекомендации", exact=True).fill("Лозартан 50 мг утром")
        rows = page.locator("#diagnoses .diagnosis")
        main, other, complication = rows.nth(0), rows.nth(1), rows.nth(2)
        # J18 is a heading, not a diagnosis: choosing it lists its detailed codes.
        main.get_by_label("Код МКБ-10").press_sequentially("J18", delay=20)
        page.get_by_role("option", name="Пневмония без уточнения возбудителя").click()
        page.get_by_role("option", name="J18.9").click()
        expect(main.get_by_label("Код МКБ-10")).to_have_value("J18.9")
        expect(main.get_by_label("Заболевание")).to_have_value("Пневмония неуточненная")
        expect(main.get_by_label("Диагноз", exact=True)).to_have_value("main")
        page.get_by_role("button", name="Добавьте заболевания").click()
        expect(other.get_by_label("Диагноз", exact=True)).to_have_value("concomitant")
        other.get_by_label("Заболевание").press_sequentially("гипертоническая", delay=20)
        page.get_by_role("option", name="I10").click()
        expect(other.get_by_label("Код МКБ-10")).to_have_value("I10")
        expect(other.get_by_label("Заболевание")).to_have_value("Эссенциальная [первичная] гипертензия")
        page.get_by_role("button", name="Добавьте заболевания").click()
        complication.get_by_label("Заболевание").press_sequentially("плевральный выпот", delay=20)
        page.get_by_role("option", name="J90").click()
        complication.get_by_label("Диагноз", exact=True).select_option(label="осложнение основного")
        page.get_by_role("button", name="Отправить протокол").click()
        expect(page.get_by_text("Протокол отправлен, обращение закрыто")).to_be_visible()
        # As a conclusion reads: the main diagnosis, its complication, then the concomitant one.
        expect(page.locator("#protocol .diagnoses li")).to_have_text(
            [
                "Основной: J18.9 — Пневмония неуточненная",
                "Осложнение основного: J90 — Плевральный выпот, не классифицированный в других рубриках",
                "Сопутствующий: I10 — Эссенциальная [первичная] гипертензия",
            ]
        )

        page.get_by_role("link", name="Подписание протокола").click()
        expect(page.get_by_role("heading", name="Выберите подпись")).to_be_visible()
        page.get_by_label("Новый пароль подписи").fill(PASSPHRASE)
        page.get_by_label("Повторите пароль").fill(PASSPHRASE)
        page.get_by_role("button", name="Создать подпись").click()
        expect(page.get_by_text("Подпись создана")).to_be_visible()
        page.get_by_label("Иванова Мария Сергеевна").check()
        page.get_by_label("Пароль подписи", exact=True).fill(PASSPHRASE)
        page.get_by_role("button", name="Подписать протокол").click()
        expect(page.get_by_text("Протокол подписан")).to_be_visible()
        expect(page.get_by_text("Подпись действительна: Иванова Мария Сергеевна")).to_be_visible()
        with page.expect_download() as download:
            page.get_by_role("link", name="Скачать подписанный протокол").click()
        path = tmp_path / "signed.pdf"
        download.value.save_as(path)

    roles = {d.code: d.role for d in Diagnosis.select()}
    assert roles == {"J18.9": "main", "I10": "concomitant", "J90": "complication"}
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    conclusion = [" ".join(line.split()) for line in text.splitlines()]
    assert "Основной J18.9 Пневмония неуточненная" in conclusion
    assert text.index("Диагнозы (МКБ-10)") < text.index("Лозартан 50 мг утром")
    signed = path.read_bytes()
    centre = Organization.get_by_id(data.centre_id)
    result = verify_protocol(signed, centre.ca_certificate.encode())
    assert result.valid and result.signer_name == "Иванова Мария Сергеевна", result.summary
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Лозартан 50 мг утром" in text and "I10" in text and appeal.id[:8] in text
