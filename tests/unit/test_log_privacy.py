"""What a log line may not keep: query strings of requests, identity-number-shaped digits."""

from __future__ import annotations

import logging

import pytest

from runtime.logs import PrivacyFilter, redact

INVITE = (
    "INVITE sip:+79161234567@10.0.0.5 SIP/2.0\r\n"
    'From: "Центр" <sip:+74951234567@centre>;tag=1\r\n'
    "To: <sip:89161234567@10.0.0.5>\r\n"
    "Call-ID: 1796614228839.000000.central\r\n"
)


@pytest.mark.parametrize(
    "line, kept, gone",
    [
        ('"GET /patients?q=%D0%9D%D0%B5%D0%B1 HTTP/1.1" 200 -', '"GET /patients?… HTTP/1.1" 200 -', "%D0%9D"),
        ('"POST /appeals?snils=112-233-445%2095&x=1 HTTP/1.1"', '"POST /appeals?… HTTP/1.1"', "112-233"),
        ("СНИЛС 112-233-445 95 отклонён", "СНИЛС … отклонён", "445"),
        ("snils 11223344595", "snils …", "11223344595"),
        ("полис 1234567890123456", "полис …", "1234567890123456"),
        ("phone +7 (916) 123-45-67", "phone +7…", "916"),
        ("stamp 1796614228839.000000.kiosk-1 at 1796614228839 ms", "stamp 1796614228839.000000.kiosk-1", ""),
    ],
)
def test_redact(line: str, kept: str, gone: str) -> None:
    cleaned = redact(line)
    assert kept in cleaned
    assert not gone or gone not in cleaned


def test_a_sip_dump_loses_every_phone_number_but_keeps_its_shape() -> None:
    cleaned = redact(INVITE)
    assert "9161234567" not in cleaned and "4951234567" not in cleaned
    assert cleaned.startswith("INVITE sip:+7…@10.0.0.5 SIP/2.0") and "Call-ID: 1796614228839" in cleaned


def test_the_filter_masks_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("faplink.test")
    caplog.handler.addFilter(PrivacyFilter())
    with caplog.at_level(logging.INFO, logger="faplink.test"):
        logger.info("record refused: %s", "Номер телефона «+79161234567» не похож на российский")
        try:
            raise ValueError("bad snils 11223344595")
        except ValueError:
            logger.exception("failed")
    assert "+79161234567" not in caplog.text and "11223344595" not in caplog.text
    assert "record refused" in caplog.text and "ValueError" in caplog.text
