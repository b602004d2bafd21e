"""The translation marker shared by every package: the bottom layer, importing nothing of ours.

Russian source strings are the gettext msgids; `N_` marks one for extraction where it is
defined (an error's template, a label) and the page translates it when it is shown.
"""

from __future__ import annotations

__all__ = ["N_"]


def N_(text: str) -> str:
    """Mark a user-facing message for translation without translating it here."""
    return text
