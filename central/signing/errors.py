"""The one error the signing package raises: its message is for the user, in Russian."""

from __future__ import annotations

__all__ = ["SigningError"]


class SigningError(Exception):
    """Signing or a signer's credential failed; ``str(error)`` says what to do, in Russian."""
