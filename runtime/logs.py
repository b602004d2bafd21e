"""Logging for every faplink process, with personal data kept out of the log (152-ФЗ).

A centre's log files are read by people who have no business with diagnoses, and a
kiosk's system journal leaves the post with the engineer's laptop. So whatever a line
says, before it is written:

- a request line loses its query string (searches by name, SNILS, policy or phone are
  GETs: «GET /appeals?q=Иванов» becomes «GET /appeals?…»);
- numbers shaped like a SNILS, an ЕНП/OMS policy or a phone number are masked, in any
  message (SIP dumps, refusals that quote a value);
- SQL with its parameters (peewee's debug output) is never logged, even with -v.

Names cannot be recognised in free text: they must not be logged in the first place.
Code logs ids, never a patient's fields.
"""

from __future__ import annotations

import logging
import os
import re

__all__ = ["configure_logging", "redact", "PrivacyFilter"]

_QUERY = re.compile(r'((?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) [^\s?"]*)\?[^\s"]*')
_SNILS = re.compile(r"(?<!\d)\d{3}[-\s]?\d{3}[-\s]?\d{3}[-\s]?\d{2}(?!\d)")
_PHONE = re.compile(r"(?<![\w+])(?:\+7|8|7)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)")
#: Ten to sixteen digits in a row (an ЕНП is 16, a SNILS 11), but not 13: those are
#: milliseconds since 1970 (clock stamps, server times), which the log needs.
_LONG_NUMBER = re.compile(r"(?<!\d)(?:\d{10,12}|\d{14,16})(?!\d)")
_URL_ENCODED_PLUS7 = re.compile(r"%2B7\d{10}", re.IGNORECASE)
#: Loggers whose debug output carries record values: never below INFO.
_QUIET = ("peewee", "engineio", "socketio", "urllib3.connectionpool", "hpack")


def redact(text: str) -> str:
    """The text with query strings and identity-number-shaped digits masked."""
    text = _QUERY.sub(r"\1?…", text)
    text = _URL_ENCODED_PLUS7.sub("%2B7…", text)
    text = _PHONE.sub("+7…", text)
    text = _SNILS.sub("…", text)
    return _LONG_NUMBER.sub("…", text)


class PrivacyFilter(logging.Filter):
    """Masks personal data in every record that passes a handler (see the module's docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(verbose: bool = False) -> None:
    """Log to stderr at INFO (DEBUG with -v or FAPLINK_LOG_LEVEL=DEBUG), through PrivacyFilter."""
    level_name = os.environ.get("FAPLINK_LOG_LEVEL", "DEBUG" if verbose else "INFO").upper()
    logging.basicConfig(
        level=getattr(logging, level_name, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, PrivacyFilter) for f in handler.filters):
            handler.addFilter(PrivacyFilter())
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLogger().level))
