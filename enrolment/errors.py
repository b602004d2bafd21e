"""One root error for the enrolment contract; every message tells the engineer what to do."""

from __future__ import annotations

from i18n import N_
from sync.errors import SyncError

__all__ = ["N_", "EnrolmentError", "BundleError"]


class EnrolmentError(SyncError):
    """Root of every error raised by `enrolment` (a SyncError, so pages can translate it)."""

    code = "enrolment"


class BundleError(EnrolmentError):
    """An enrolment bundle that is not ours, is damaged, or was changed on the way."""

    code = "bad_bundle"
