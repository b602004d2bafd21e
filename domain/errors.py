"""One root error for the clinical domain; every message is fit to show a user.

Not a SyncError: a rule of the domain (a bad SNILS, an appeal that cannot be cancelled) is
no failure of the sync engine. Pages show both kinds alike (`web.errors.USER_ERRORS`),
and the engine refuses a record from a peer that raises one of these (`domain.replication`
registers `DomainError` as the domain's refusal).
"""

from __future__ import annotations

from datetime import datetime

from i18n import N_, MessageError

__all__ = ["DomainError", "ValidationError", "LifecycleError", "NotFoundError", "ForbiddenError"]


def _plain(value: object) -> object:
    """A parameter as the untranslated message names it: a moment (naive UTC) in UTC."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes") + " UTC"
    return value


class DomainError(MessageError):
    """Root of every error raised by `domain`: a rule of the domain refused something."""

    #: Machine-readable code, stable across releases (used in JSON errors).
    code = "domain_error"

    @staticmethod
    def plain(value: object) -> object:
        return _plain(value)


class ValidationError(DomainError):
    """Bad input from a user or a peer: says what was wrong and what to do."""

    code = "invalid"


class LifecycleError(DomainError):
    """An appeal transition that its current state does not allow."""

    code = "not_allowed"


class NotFoundError(DomainError):
    """A record that does not exist, or that this user may not know of (pages answer 404)."""

    code = "not_found"

    def __init__(
        self, template: str = N_("Страница не найдена"), *, field: str | None = None, **params: object
    ) -> None:
        super().__init__(template, field=field, **params)


class ForbiddenError(DomainError):
    """A record the user may see but not act on this way (pages answer 403)."""

    code = "forbidden"
