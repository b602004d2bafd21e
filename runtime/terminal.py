"""Messages for a terminal in its locale's language: Russian, or English where the locale is.

The web pages translate an error through Flask-Babel (web/i18n.py); a command
run by an engineer has no request, so it reads the locale (LC_ALL, LC_MESSAGES, LANG,
the first one set) and the same catalogue. Russian unless the locale is English.
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from pathlib import Path
from typing import Protocol

__all__ = ["UserError", "terminal_language", "terminal_text"]

#: The catalogues the web apps read too (web/i18n.py's TRANSLATIONS).
_CATALOGUES = Path(__file__).resolve().parent.parent / "faplink" / "translations"


class UserError(Protocol):
    """An error fit to show a user (sync.errors.SyncError and its kin): runtime imports none."""

    template: str
    params: dict[str, object]
    message: str


def terminal_language() -> str:
    """English ("en") where the terminal's locale is, else Russian ("ru")."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "en" if value.lower().startswith("en") else "ru"
    return "ru"


@cache
def _english() -> gettext.NullTranslations:
    return gettext.translation("messages", _CATALOGUES, languages=["en"], fallback=True)


def terminal_text(exc: UserError) -> str:
    """The error's message in the terminal's language, its parameters filled in, on one line."""
    text = exc.message
    if terminal_language() == "en":
        try:
            translated = _english().gettext(exc.template)
            text = translated % exc.params if exc.params else translated
        except (KeyError, ValueError, TypeError):
            text = exc.message
    return " ".join(text.split())
