"""One way to show a time or a number to a person: the viewer's zone with its abbreviation, a
decimal comma in Russian (a point in English), units after a no-break space."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from flask import Flask, g
from flask_babel import Babel, force_locale

from protocol_signatures.pdf import VerificationResult, signed_at_text
from web.formats import (
    file_size,
    local_time,
    number,
    quantity,
    say,
    signature_summary,
    zone_abbreviation,
)

# A winter moment, stored as the models keep it: naive UTC.
MOMENT = datetime(2026, 12, 7, 1, 13)


@pytest.fixture
def app() -> Flask:
    app = Flask("formats")
    Babel(app)
    return app


def test_file_sizes_read_as_people_write_them(app: Flask) -> None:
    with app.test_request_context():
        with force_locale("ru"):
            assert file_size(512) == "0,5\u00a0КБ"
            assert file_size(20 * 1024) == "20\u00a0КБ"
            assert file_size(int(3.4 * 1024 * 1024)) == "3,4\u00a0МБ"
            assert file_size(0) == "0,1\u00a0КБ"
        with force_locale("en"):
            assert file_size(512).startswith("0.5")


def test_numbers_have_the_users_decimal_separator_and_their_unit(app: Flask) -> None:
    with app.test_request_context():
        with force_locale("ru"):
            assert number(36.6) == "36,6"
            assert number(93.0) == "93"
            assert number(1234567) == "1\u00a0234\u00a0567"
            assert quantity(12.345, "ГБ") == "12,3\u00a0ГБ"
            assert number(None) == "—"
        with force_locale("en"):
            assert number(36.6) == "36.6"
    # Outside a request (a log line, the terminal) the text is Russian.
    assert number(36.6) == "36,6"


def test_a_message_fills_floats_in_the_users_language_and_leaves_sizes_alone(app: Flask) -> None:
    with app.test_request_context(), force_locale("ru"):
        assert say("Свободно %(gb)s ГБ", {"gb": 12.5}) == "Свободно 12,5 ГБ"
        assert say("%(w)s×%(h)s", {"w": 1280, "h": 720}) == "1280×720"


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("Europe/Moscow", "07.12.2026 04:13\u00a0МСК"),
        ("Asia/Yekaterinburg", "07.12.2026 06:13\u00a0ЕКБ"),
        ("Asia/Kolkata", "07.12.2026 06:43\u00a0UTC+5:30"),
        ("America/Sao_Paulo", "06.12.2026 22:13\u00a0UTC\u22123"),
    ],
)
def test_a_time_is_the_viewers_with_its_zone_never_utc(app: Flask, zone: str, shown: str) -> None:
    with app.test_request_context():
        g.staff = SimpleNamespace(timezone=zone)
        assert local_time(MOMENT) == shown
        # A date alone has no zone; a day's column of times names it once in its heading.
        assert local_time(MOMENT, "%d.%m.%Y") == shown[:10]
        assert local_time(MOMENT, "%H:%M", zone=False) == shown[11:16]


def test_russias_zones_have_the_abbreviations_people_read() -> None:
    assert [zone_abbreviation(z) for z in ("Europe/Kaliningrad", "Europe/Samara", "Asia/Vladivostok")] == [
        "КЛД",
        "САМ",
        "ВЛАД",
    ]
    assert zone_abbreviation("Europe/Berlin", datetime(2026, 7, 1, tzinfo=UTC)) == "UTC+2"


def test_a_pages_signature_line_says_the_readers_time_the_document_keeps_utc(app: Flask) -> None:
    signed = MOMENT.replace(tzinfo=UTC)
    result = VerificationResult(
        valid=True,
        intact=True,
        trusted=True,
        signer_name="Иванова Мария",
        serial="0A",
        signed_at=signed,
        covers_whole_document=True,
        summary=f"Подпись действительна: Иванова Мария, сертификат 0A, подписано {signed_at_text(signed)}.",
    )
    assert "подписано 07.12.2026 01:13 UTC" in result.summary  # the file's fact, for every reader
    with app.test_request_context():
        g.staff = SimpleNamespace(timezone="Asia/Yekaterinburg")
        shown = signature_summary(result)
    assert shown.endswith("сертификат 0A, подписано 07.12.2026 06:13\u00a0ЕКБ.")
