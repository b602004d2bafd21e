"""The translation marker shared by every package: the bottom layer, importing nothing of ours.

Russian source strings are the gettext msgids; `N_` marks one for extraction where it is
defined (an error's template, a label) and the page translates it when it is shown.
"""

from __future__ import annotations

__all__ = ["N_", "MessageError"]


def N_(text: str) -> str:
    """Mark a user-facing message for translation without translating it here."""
    return text


class MessageError(Exception):
    """An error whose message is fit to show a user: a Russian template (a msgid marked with
    `N_`) and its parameters. The roots of the engine's and the domain's errors share it;
    pages translate `template` and then fill in `params` ("%(name)s" placeholders)."""

    #: Machine-readable code, stable across releases (used in JSON errors).
    code = "error"

    def __init__(self, template: str, *, field: str | None = None, **params: object) -> None:
        self.template = template
        self.params = params
        self.field = field
        self.message = template % {k: self.plain(v) for k, v in params.items()} if params else template
        super().__init__(self.message)

    @staticmethod
    def plain(value: object) -> object:
        """A parameter as the untranslated message names it (a subclass may spell some out)."""
        return value

    def as_dict(self) -> dict[str, str]:
        out = {"error": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out
