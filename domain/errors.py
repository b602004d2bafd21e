"""One root error for the clinical domain; every message is fit to show a user."""

from __future__ import annotations

from sync.errors import SyncError

__all__ = ["DomainError", "ValidationError", "LifecycleError"]


class DomainError(SyncError):
    """Root of every error raised by `domain`: a rule of the domain refused something.

    For now still a SyncError, so that pages that catch SyncError keep showing it.
    """

    code = "domain_error"


class ValidationError(DomainError):
    """Bad input from a user or a peer: says what was wrong and what to do."""

    code = "invalid"


class LifecycleError(DomainError):
    """An appeal transition that its current state does not allow."""

    code = "not_allowed"
