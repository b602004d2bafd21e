"""One root error for the sync package; every message is fit to show a user."""

from __future__ import annotations

__all__ = [
    "N_",
    "SyncError",
    "ValidationError",
    "LifecycleError",
    "ScopeError",
    "TransportError",
    "AuthError",
    "RevokedError",
    "VersionError",
]


def N_(text: str) -> str:
    """Mark a user-facing message for translation without translating it here."""
    return text


class SyncError(Exception):
    """Root of every error raised by `sync`."""

    #: Machine-readable code, stable across releases (used in JSON errors).
    code = "sync_error"

    def __init__(self, template: str, *, field: str | None = None, **params: object) -> None:
        # `template` is the Russian text (a gettext msgid marked with N_); pages
        # translate it and then fill in `params` ("%(name)s" placeholders).
        self.template = template
        self.params = params
        self.field = field
        self.message = template % params if params else template
        super().__init__(self.message)

    def as_dict(self) -> dict[str, str]:
        out = {"error": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


class ValidationError(SyncError):
    """Bad input from a user or a peer: says what was wrong and what to do."""

    code = "invalid"


class LifecycleError(SyncError):
    """An appeal transition that its current state does not allow."""

    code = "not_allowed"


class ScopeError(SyncError):
    """A node asked for, or sent, a record outside its scope."""

    code = "out_of_scope"


class AuthError(SyncError):
    """A sync request that is unsigned, tampered, replayed or from an unknown node."""

    code = "unauthorized"


class RevokedError(AuthError):
    """The node's access was revoked at central: the post must call support."""

    code = "revoked"


class VersionError(SyncError):
    """Protocol or schema versions that cannot talk to each other."""

    code = "update_required"


class TransportError(SyncError):
    """The link to the peer failed; the operation can be retried."""

    code = "transport"
