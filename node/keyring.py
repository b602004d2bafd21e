"""Keeping keyring.json in step: the post's feldshers' credentials, which sync brings, and
the recovery copy of the data key for central's recovery key."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from domain.models import Role, Staff, StaffCredential

from .datakey import DataKey, read_keyring, wrap_for_logins, wrap_for_recovery

__all__ = ["refresh_keyring", "keep_keyring", "has_recovery_copy", "keep_recovery_copy"]

log = logging.getLogger(__name__)


def post_credentials(organization_id: str) -> list[tuple[str, str]]:
    """(login, password hash) of every feldsher who may log in at this post (as check_feldsher)."""
    rows = (
        StaffCredential.select(StaffCredential.login, StaffCredential.password_hash)
        .join(Staff)
        .where(
            (StaffCredential.deleted == False)  # noqa: E712
            & (Staff.deleted == False)  # noqa: E712
            & (Staff.active == True)  # noqa: E712
            & (Staff.role == Role.FELDSHER)
            & (Staff.organization == organization_id)
        )
    )
    return [(row.login, row.password_hash) for row in rows]


def refresh_keyring(app: Flask) -> bool:
    """Wrap the data key for exactly the post's current feldshers; returns whether it changed."""
    identity = app.extensions["identity"]
    key = app.extensions["data_key"]
    credentials = post_credentials(identity.organization_id)
    changed = wrap_for_logins(identity.data_dir, key, identity.node_id, credentials)
    if changed:
        log.info("keyring.json now opens for the post's current feldshers")
    return changed


def keep_keyring(app: Flask) -> None:
    """Refresh the keyring now and whenever the sync client's state changes (after a pull)."""
    refresh_keyring(app)

    def listener(_status: Any) -> None:
        try:
            refresh_keyring(app)
        except Exception:  # the keyring must never break a sync round
            log.exception("could not refresh keyring.json")

    app.extensions["sync_client"].listeners.append(listener)


def has_recovery_copy(data_dir: Path) -> bool:
    """Whether keyring.json holds a copy of the data key that central's recovery key opens."""
    entry = read_keyring(data_dir).get("recovery")
    return isinstance(entry, dict) and all(entry.get(name) for name in ("centre_key", "ephemeral", "key"))


def keep_recovery_copy(data_dir: Path, key: DataKey, node_id: str) -> bool:
    """Make the recovery copy again where keyring.json knows central's recovery key but lost
    the copy; returns whether the post has one. A post enrolled before the copy existed does
    not know the key: the kiosk's fleet reporter fetches it after a sync round
    (provisioning/report.py) and `node check` remarks on it until then."""
    if has_recovery_copy(data_dir):
        return True
    entry = read_keyring(data_dir).get("recovery")
    centre_key = str(entry.get("centre_key") or "") if isinstance(entry, dict) else ""
    if not centre_key:
        log.warning("the post's data key has no recovery copy yet: made once central's recovery key comes")
        return False
    wrap_for_recovery(data_dir, key, node_id, centre_key)
    log.info("keyring.json holds a recovery copy of the data key again")
    return True
