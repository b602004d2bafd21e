"""Recovering a post whose feldshers are gone: its data key, wrapped to central's recovery key.

Every post's keyring.json holds a copy of its data key that only central's
recovery key (X25519, ``recovery.key`` in central's data directory, 0600)
opens. The field engineer brings the post's keyring.json (it holds no secret
anyone else can use) to central, where `faplink provision recover-key` writes
the data key to a file; on the kiosk `faplink provision recover` opens the
post with it, syncs (the new feldsher's login arrives) and seals the key again
(TPM, or the feldshers' passwords). The key file is then destroyed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from enrolment.recovery_key import centre_recovery_key, recovery_public_hex
from sync.db import WrongDatabaseKey, connect_file
from sync.errors import SyncError

from .errors import N_, ProvisioningError

if TYPE_CHECKING:
    from node.datakey import DataKey

    from .layout import NodeDir
    from .link import FleetLink

__all__ = [
    "recover_data_key",
    "protect_key",
    "open_with_key",
    "fetch_recovery_key",
    "recovery_public_hex",
]


def fetch_recovery_key(link: FleetLink) -> str:
    """Central's recovery public key (hex) over the kiosk's signed link; "" from an older central."""
    try:
        return str(link.call("GET", "/recovery-key").get("public_key") or "")
    except SyncError:  # the signed link's own errors only
        return ""


def recover_data_key(central_data_dir: Path, keyring_file: Path) -> DataKey:
    """At central: the data key of the post whose keyring.json this is."""
    from node.datakey import DataKeyError, unwrap_recovery

    try:
        keyring = json.loads(keyring_file.read_text())
        return unwrap_recovery(keyring, centre_recovery_key(central_data_dir))
    except (OSError, ValueError, DataKeyError) as exc:
        raise ProvisioningError(
            N_("Ключ данных ФАП не восстановить из %(path)s: %(error)s"),
            path=str(keyring_file),
            error=str(exc),
        ) from exc


def open_with_key(nd: NodeDir, key: DataKey) -> None:
    """Check that `key` opens the post's database, and use it for the rest of this process."""
    if nd.database.is_file():
        try:
            connect_file(nd.database, key.database_key, read_only=True).close()
        except WrongDatabaseKey as exc:
            raise ProvisioningError(
                N_("Этот ключ не открывает данные киоска %(dir)s"), dir=str(nd.root)
            ) from exc
    nd.remember_key(key)


def protect_key(nd: NodeDir, key: DataKey, node_id: str, centre_recovery_hex: str = "") -> str:
    """Keep the key the best way this machine allows; returns how: "tpm" or "keyring".

    The recovery copy is made whenever central's recovery key is known; the TPM seals the
    key when systemd-creds finds one; the feldshers' logins wrap it as their credentials sync."""
    from node.datakey import DataKeyError, seal_with_tpm, tpm_available, wrap_for_recovery

    if centre_recovery_hex:
        wrap_for_recovery(nd.root, key, node_id, centre_recovery_hex)
    if tpm_available():
        try:
            seal_with_tpm(nd.root, key)
            return "tpm"
        except DataKeyError:
            pass  # the keyring still opens it
    return "keyring"


def logins_that_open(nd: NodeDir) -> int:
    from node.datakey import keyring_logins

    return keyring_logins(nd.root)
