"""In chromium, by visible labels: the engineer revokes a kiosk; the feldsher is told to call support."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import chromium, sign_in
from tests.helpers.cluster import Cluster, eventually, login_works


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path, sync_interval=3600)
    yield cluster
    cluster.stop_all()


def test_engineer_revokes_a_kiosk_and_the_feldsher_sees_call_support(cluster: Cluster) -> None:
    cluster.start_central()
    cluster.start_post(0)
    post = cluster.post_url(0)
    eventually(lambda: login_works(post, "fap1"), what="the first sync")

    with chromium() as browser:
        engineer = browser.new_context(locale="ru-RU").new_page()
        sign_in(engineer, cluster.central_url, "admin")
        engineer.locator("summary").click()  # the user menu
        engineer.get_by_role("link", name="Парк киосков").click()
        expect(engineer.get_by_role("heading", name="Парк киосков")).to_be_visible()
        row = engineer.get_by_role("row").filter(has_text="demo-post-1")
        expect(row).to_contain_text("ФАП д. Медное")
        row.get_by_role("link", name="Отозвать").click()
        expect(engineer.get_by_text("фельдшер увидит просьбу позвонить в поддержку")).to_be_visible()
        engineer.get_by_role("button", name="Да, отозвать доступ").click()
        expect(engineer.get_by_text("Доступ киоска demo-post-1 отозван")).to_be_visible()
        expect(engineer.get_by_role("row").filter(has_text="demo-post-1")).to_contain_text("Доступ отозван")
        expect(
            engineer.get_by_role("row").filter(has_text="demo-post-2").get_by_role("link", name="Отозвать")
        ).to_be_visible()

        kiosk = browser.new_context(locale="ru-RU").new_page()
        sign_in(kiosk, post, "fap1")  # the feldsher still works locally
        kiosk.get_by_role("button", name="Синхронизировать сейчас").click()

        def told_to_call() -> bool:
            kiosk.reload()
            return kiosk.get_by_text("доступ отозван — позвоните в поддержку").count() > 0

        eventually(told_to_call, what="the kiosk's «позвоните в поддержку»")
        expect(kiosk.locator("#syncbar")).to_contain_text("позвоните в поддержку")
