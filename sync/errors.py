"""One root error for the sync engine; every message is fit to show a user.

The engine's errors are about the link and the records on it: transport, authentication,
versions, clocks, a malformed body, a record outside the post's scope or contract. The
domain's own rules raise the domain's errors (`domain.errors`), which are not SyncErrors;
the engine refuses a record they reject as a `RefusedError` carrying the same code and text.
"""

from __future__ import annotations

from typing import Any

from i18n import MessageError

__all__ = [
    "SyncError",
    "MalformedError",
    "RefusedError",
    "ScopeError",
    "ClockError",
    "TransportError",
    "error_for_code",
    "AuthError",
    "UnsignedError",
    "UnknownNodeError",
    "BadSignatureError",
    "StaleRequestError",
    "ReplayError",
    "RevokedError",
    "EnrolmentError",
    "VersionError",
]


class SyncError(MessageError):
    """Root of every error raised by `sync`."""

    #: Machine-readable code, stable across releases (used in JSON errors).
    code = "sync_error"


class ScopeError(SyncError):
    """A node asked for, or sent, a record outside its scope."""

    code = "out_of_scope"


class MalformedError(SyncError):
    """A body, record or value from a peer (or an operator) that the engine cannot take."""

    code = "invalid"


class RefusedError(SyncError):
    """A record from a peer that a rule of the domain refuses (a bad SNILS, a consultant who
    does not take the patient): the domain's error, as the engine reports it."""

    code = "invalid"

    @classmethod
    def of(cls, exc: Exception) -> RefusedError:
        """The engine's refusal for one of the domain's registered errors: same code and text."""
        params: dict[str, Any] = dict(getattr(exc, "params", None) or {})
        refused = cls(str(getattr(exc, "template", None) or exc), field=getattr(exc, "field", None), **params)
        refused.code = str(getattr(exc, "code", cls.code))
        # The domain's own words for an untranslated reader (it names a moment in UTC).
        refused.message = str(getattr(exc, "message", None) or refused.message)
        refused.args = (refused.message,)
        return refused


class ClockError(MalformedError):
    """A post's record stamped ahead of central's clock: the post's clock is wrong."""

    code = "clock_ahead"


class AuthError(SyncError):
    """A sync request that is unsigned, tampered, replayed or from an unknown node."""

    code = "unauthorized"


class UnsignedError(AuthError):
    """A sync request without the node's signature headers."""

    code = "unsigned"


class UnknownNodeError(AuthError):
    """A signature from a node central has never enrolled."""

    code = "unknown_node"


class BadSignatureError(AuthError):
    """The signature does not match the request: tampered, or the wrong key."""

    code = "bad_signature"


class StaleRequestError(AuthError):
    """A signed request whose timestamp is outside the replay window."""

    code = "stale"


class ReplayError(AuthError):
    """A signed request whose nonce central has already seen."""

    code = "replayed"


class RevokedError(AuthError):
    """The node's access was revoked at central: the post must call support."""

    code = "revoked"


class EnrolmentError(AuthError):
    """An enrolment token that is unknown, used, expired or revoked."""

    code = "enrolment_refused"


class VersionError(SyncError):
    """Protocol or schema versions that cannot talk to each other."""

    code = "update_required"


class TransportError(SyncError):
    """The link to the peer failed; the operation can be retried."""

    code = "transport"


def error_for_code(code: str | None) -> type[SyncError]:
    """The error class a peer meant by a JSON error code (SyncError if unknown)."""
    pending: list[type[SyncError]] = [SyncError]
    while pending:
        cls = pending.pop()
        if cls.code == code:
            return cls
        pending.extend(cls.__subclasses__())
    return SyncError
