"""One root error for provisioning; every message tells the engineer what to do."""

from __future__ import annotations

from enrolment.errors import BundleError
from i18n import N_
from sync.errors import SyncError

__all__ = [
    "N_",
    "ProvisioningError",
    "AlreadyEnrolledError",
    "BundleError",
    "BackupError",
    "DataLockedError",
]


class ProvisioningError(SyncError):
    """Root of every error raised by `provisioning` (a SyncError, so pages can translate it)."""

    code = "provisioning"


class AlreadyEnrolledError(ProvisioningError):
    """The data directory already holds an enrolled node."""

    code = "already_enrolled"


class BackupError(ProvisioningError):
    """A backup archive that cannot be made or restored."""

    code = "bad_backup"


class DataLockedError(ProvisioningError):
    """The post's data is encrypted and nothing at hand opens its key."""

    code = "data_locked"
