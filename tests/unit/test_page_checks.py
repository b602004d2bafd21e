"""The browser tests' page checks find what they look for (tests/helpers/pagecheck.py)."""

from __future__ import annotations

from tests.helpers.pagecheck import english_words, utc_or_iso


def test_english_is_found_and_names_codes_and_files_are_not() -> None:
    assert english_words("Тонометр · bm65 · 5 stored, 0 new") == ["stored", "new"]
    assert english_words("Причина: ConnectionError") == ["ConnectionError"]
    page = (
        "faplink · ФАП SpO2: 98 % · Contec CMS50 (V7) · ЭКГ.pdf · PDF, DOCX, JPEG — до 20 МБ · "
        "demo-post-1 · http://127.0.0.1:8701/ · NEWS2: 5 · A — ясное · Весы Mettler-Toledo (mtsics) · "
        "Файл PKCS#12 (.p12, .pfx)"
    )
    assert english_words(page) == []


def test_utc_and_iso_times_are_found_and_local_ones_are_not() -> None:
    assert utc_or_iso("Последняя синхронизация: 2026-12-07 01:13 UTC") == ["UTC", "2026-12-07 01:13"]
    assert utc_or_iso("подписано 2026-12-07T01:13:00") == ["2026-12-07T01:13"]
    assert utc_or_iso("Последняя синхронизация: 07.12.2026 04:13 МСК") == []
