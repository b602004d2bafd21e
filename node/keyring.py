"""Keeping keyring.json in step with the post's feldshers' credentials, which sync brings."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from domain.models import Role, Staff, StaffCredential

from .datakey import wrap_for_logins

__all__ = ["refresh_keyring", "keep_keyring"]

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
