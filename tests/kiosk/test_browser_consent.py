"""Children and consent in the kiosk's chromium, by the visible Russian labels.

«Новый пациент» for a five-year-old is refused until her legal representative is
found among the post's patients; «Записать пациента» is refused until the ИДС is
marked, and then stores who consented with a scan of the signed form.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import expect

from domain.models import Appeal, Attachment, AttachmentKind, Patient
from tests.helpers.browser import chromium, sign_in
from tests.helpers.web import served_in_thread
from tests.kiosk import samples

GUARDIAN = "Кузьмин Пётр Васильевич"
PHONE = "8 915 111-22-33"


def test_a_child_with_her_guardian_and_an_appeal_with_the_consent(node_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    scan = tmp_path / "ИДС.pdf"
    scan.write_bytes(samples.pdf("Informed consent"))
    with served_in_thread(app) as port, chromium() as browser:
        base = f"http://127.0.0.1:{port}"
        page = browser.new_context(locale="ru-RU").new_page()
        sign_in(page, base, "fap1")
        expect(page.get_by_role("heading", name="Новые обращения", level=1)).to_be_visible()

        page.goto(f"{base}/patients/new")
        page.get_by_label("Фамилия").fill("Кузьмина")
        page.get_by_label("Имя", exact=True).fill("Даша")
        page.get_by_label("Дата рождения").fill((date.today() - timedelta(days=5 * 365 + 40)).isoformat())
        page.get_by_label(re.compile(r"^Пол(\s|$)")).select_option(label="женский")
        page.get_by_label("Телефон", exact=True).fill(PHONE)
        page.get_by_role("button", name="Создать", exact=True).click()
        expect(page.get_by_text("Пациенту нет 15 лет: укажите законного представителя")).to_be_visible()
        page.get_by_label("Найти представителя среди пациентов поста").fill(PHONE)
        page.get_by_role("button", name="Найти представителя").click()
        page.get_by_role("radio", name=GUARDIAN).check()
        page.get_by_label("Кем приходится пациенту").select_option(label="опекун")
        page.get_by_role("button", name="Создать", exact=True).click()
        child_card = page.locator(".patient-card", has_text="Кузьмина Даша")
        expect(child_card.locator("dd", has_text=GUARDIAN)).to_be_visible()

        guardian = Patient.get(Patient.last_name == "Кузьмин")
        page.goto(f"{base}/patients/{guardian.id}")
        page.locator(".actions").get_by_role("link", name="Записать пациента").click()
        expect(page.get_by_label("Специальность").locator("option", has_text="Педиатрия")).to_have_count(0)
        page.get_by_label("Специальность").select_option(label="Кардиология")
        page.locator(".consultant-card", has_text="Иванова Мария Сергеевна").get_by_role(
            "link", name="Выбрать врача"
        ).click()
        # Not the first slot: the seed is made once per session, and by now the first one
        # shown may start before the form is sent («Время этого слота уже прошло»).
        page.locator(".slots label").nth(1).click()
        page.get_by_role("button", name="Далее").click()
        page.get_by_label("Основной вопрос").fill("Коррекция терапии?")
        consent = page.locator("fieldset.consent-step")
        expect(consent.get_by_text("Информированное добровольное согласие (ИДС)")).to_be_visible()
        page.get_by_role("button", name="Далее").click()
        expect(page.get_by_text("Без информированного добровольного согласия (ИДС)")).to_be_visible()
        consent.get_by_role("radio", name=f"Пациент: {GUARDIAN}").check()
        consent.get_by_label("Фото или скан подписанного ИДС (если есть)").set_input_files(str(scan))
        page.get_by_role("button", name="Далее").click()
        expect(page.get_by_role("heading", name="Проверьте данные обращения")).to_be_visible()
        expect(page.locator("dd.consent")).to_contain_text(f"пациент: {GUARDIAN}")
        expect(page.get_by_role("link", name="ИДС.pdf")).to_be_visible()
        page.get_by_role("button", name="Информация верна, создать обращение").click()
        expect(page.get_by_text("Обращение создано")).to_be_visible()

    child = Patient.get(Patient.first_name == "Даша")
    assert (child.representative_id, child.representative_relation) == (guardian.id, "guardian")
    appeal = Appeal.get(Appeal.patient == guardian.id)
    assert appeal.consent_by == "patient" and appeal.consent_at is not None
    scans = Attachment.select().where(
        (Attachment.appeal == appeal.id) & (Attachment.kind == AttachmentKind.CONSENT)
    )
    assert [a.filename for a in scans] == ["ИДС.pdf"]
