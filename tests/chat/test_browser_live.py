"""Two cardiologists' queues and the appeal's chat, live in Debian chromium, by their visible labels.

The post's sync timer is a minute long: whatever shows up faster came over Socket.IO.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from domain.booking import book_appeal
from domain.models import Patient, Specialty, Staff
from sync.changes import latest_stamp
from sync.db import bind_replica, open_database
from tests.helpers.browser import chromium, sign_in
from tests.helpers.cluster import ApiClient, Cluster, eventually, login_works, node_data_key

LIVE_MS = 30_000  # a ceiling: live updates take well under a second on an idle machine


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path, sync_interval=60.0)
    yield cluster
    cluster.stop_all()


def _login(page: Page, base: str, login: str) -> None:
    sign_in(page, base, login)
    expect(page.get_by_role("heading", name="Новые обращения", level=1)).to_be_visible()


def _mark(page: Page) -> None:
    """A flag that a reload would wipe out: updates must come without one."""
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def _appeal_to_cardiology_written_at_post(cluster: Cluster, patient_id: str) -> str:
    """An urgent appeal to «Кардиология» with no one named, as the post stores it.

    The node's JSON API always names a consultant, so this one is written into the
    node's database as the node itself would (its replica id, its change sequence).
    """
    node = json.loads((Path(cluster.plan["posts"][0]["dir"]) / "node.json").read_text())  # type: ignore[index]
    post_dir = Path(cluster.plan["posts"][0]["dir"])  # type: ignore[index]
    db = open_database(post_dir / "node.db", node_data_key(post_dir).database_key)
    try:
        bind_replica(node["node_id"], latest_stamp())
        appeal = book_appeal(
            consent_by="patient",  # the ИДС to the consultation
            patient=Patient.get_by_id(patient_id),
            author=Staff.get((Staff.organization == node["organization_id"]) & (Staff.role == "feldsher")),
            specialty=Specialty.get(Specialty.name == "Кардиология"),
            consultant=None,
            slot=None,
            form_of_care="urgent",
            question="Давящая боль за грудиной ночью, прошла сама: что делать до консультации?",
        )
        return str(appeal.id)
    finally:
        db.close()


def test_two_cardiologists_queues_and_the_chat_update_live(cluster: Cluster, tmp_path: Path) -> None:
    cluster.start_central()
    cluster.start_post(0)
    post = cluster.post_url(0)
    eventually(lambda: login_works(post, "fap1"), what="the first sync")
    feldsher = ApiClient(post, "fap1")
    kuzmin = feldsher.get("/api/v1/patients", params={"q": "8 915 111-22-33"}).json()["patients"][0]
    family = feldsher.get("/api/v1/patients", params={"q": "8 912 100-45-67"}).json()["patients"]
    mother = next(p for p in family if p["full_name"] == "Сидорова Елена Андреевна")
    cardiologists = feldsher.get("/api/v1/consultants", params={"name": "Иванова"}).json()["consultants"]
    ivanova_id = cardiologists[0]["id"]

    with chromium() as browser:
        ivanova = browser.new_context(locale="ru-RU").new_page()
        smirnov = browser.new_context(locale="ru-RU").new_page()
        _login(ivanova, cluster.central_url, "ivanova")
        _login(smirnov, cluster.central_url, "smirnov")
        for page in (ivanova, smirnov):
            expect(page.locator("#queues")).not_to_contain_text("Кузьмин Пётр Васильевич")
            _mark(page)

        # 1. An emergency appeal to Иванова arrives: her queue shows it, Смирнов's does not.
        created = feldsher.post(
            "/api/v1/appeals",
            json={
                "patient": kuzmin["id"],
                "consultant": ivanova_id,
                "form_of_care": "emergency",
                "question": "Одышка в покое, SpO2 89 %",
                "consent_by": "patient",  # the ИДС to the consultation
            },
        )
        assert created.status_code == 201, created.text
        feldsher.post("/api/v1/sync/now")
        expect(ivanova.locator("#new")).to_contain_text("Кузьмин Пётр Васильевич", timeout=LIVE_MS)
        expect(ivanova.locator(".mainnav")).to_contain_text("Новые обращения 1")
        assert _not_reloaded(ivanova)

        # 2. An appeal to the specialty arrives: both cardiologists see it.
        open_id = _appeal_to_cardiology_written_at_post(cluster, mother["id"])
        feldsher.post("/api/v1/sync/now")
        for page in (ivanova, smirnov):
            expect(page.locator("#new")).to_contain_text("Сидорова Елена Андреевна", timeout=LIVE_MS)
            assert _not_reloaded(page)
        # Смирнов's queue has been updated live since Иванова's emergency came: it never showed it.
        expect(smirnov.locator("#queues")).not_to_contain_text("Кузьмин Пётр Васильевич")

        # The post's kiosk opens the appeal while it is still new: no chat yet.
        kiosk = browser.new_context(locale="ru-RU").new_page()
        kiosk_requests: list[str] = []
        kiosk.on("request", lambda request: kiosk_requests.append(request.url))
        _login(kiosk, post, "fap1")
        kiosk.goto(f"{post}/appeals/{open_id}")
        expect(kiosk.get_by_text("Давящая боль за грудиной")).to_be_visible()
        expect(kiosk.get_by_role("heading", name="Чат")).to_have_count(0)

        # 3. Иванова takes it in work: it leaves Смирнов's «Новые обращения» without a reload.
        ivanova.get_by_text("Сидорова Елена Андреевна").first.click()
        ivanova.get_by_role("button", name="Взять в работу").click()
        expect(ivanova.get_by_text("Обращение взято в работу")).to_be_visible()
        expect(smirnov.locator("#queues")).not_to_contain_text("Сидорова Елена Андреевна", timeout=LIVE_MS)
        assert _not_reloaded(smirnov)

        # 4. The kiosk's page learns of it from its node and opens the chat.
        expect(kiosk.get_by_role("heading", name="Чат")).to_be_visible(timeout=LIVE_MS)

        # 5. The chat, both ways, with a file from the post.
        ivanova.get_by_label("Сообщение").fill("Опишите, пожалуйста, боль подробнее и снимите ЭКГ")
        ivanova.get_by_role("button", name="Отправить").click()
        expect(ivanova.locator("#chat-messages")).to_contain_text("снимите ЭКГ")
        expect(kiosk.locator("#chat-messages")).to_contain_text("снимите ЭКГ", timeout=LIVE_MS)
        _mark(kiosk)
        ecg = tmp_path / "экг.txt"
        ecg.write_text("ЭКГ: ритм синусовый, ЧСС 88, ST без смещения", encoding="utf-8")
        kiosk.get_by_label("Сообщение").fill("Боль давящая, 10 минут, ЭКГ прикладываю")
        kiosk.get_by_label("Прикрепить файл").set_input_files(str(ecg))
        kiosk.get_by_role("button", name="Отправить").click()
        expect(kiosk.locator("#chat-messages")).to_contain_text("ЭКГ прикладываю")
        expect(ivanova.locator("#chat-messages")).to_contain_text("ЭКГ прикладываю", timeout=LIVE_MS)
        expect(ivanova.locator("#chat-messages").get_by_role("link", name="экг.txt")).to_be_visible(
            timeout=LIVE_MS
        )
        expect(kiosk.locator("#chat-messages")).not_to_contain_text("не отправлено", timeout=LIVE_MS)
        assert _not_reloaded(kiosk)

    central_port = f":{cluster.port}/"
    assert kiosk_requests and not [url for url in kiosk_requests if central_port in url], (
        "the kiosk page must talk to its own node only"
    )
