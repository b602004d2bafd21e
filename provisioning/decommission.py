"""Retiring a kiosk: last sync, key revoked at central, local patient data wiped.

What stays in the data directory afterwards: node.json renamed to
node.json.decommissioned and provision.log with one line saying what was
done, so whoever finds the machine later knows what it was.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from node.running import LOCK_FILE
from sync.db import database
from web.errors import USER_ERRORS

from .errors import N_, ProvisioningError
from .layout import NodeDir
from .link import FleetLink

__all__ = ["DecommissionResult", "decommission", "final_sync"]

#: Everything that may hold patient data or the kiosk's secrets.
_WIPED = (
    *("node.db", "node.db-wal", "node.db-shm", "node.db.mark", "node.key", "node.key.new", "secret_key"),
    *("sync-status.json", "selftest.json", "centre-ca.crt", LOCK_FILE),
    # The data key's wrappings: with the data gone they open nothing, but leave no trace of it.
    *("keyring.json", "data-key.cred"),
)


@dataclass
class DecommissionResult:
    node_id: str
    synced: bool
    sync_error: str
    revoked: bool
    revoke_error: str
    removed: list[str]


def final_sync(nd: NodeDir) -> tuple[bool, str, int]:
    """One last round; returns (ok, error, records still unsent)."""
    from node import create_app

    app = create_app(nd.node_config(SYNC_ENABLED=False))
    client = app.extensions["sync_client"]
    try:
        client.run_round()
        return True, "", 0
    except USER_ERRORS as exc:
        status = client.refresh_queues()
        return False, exc.message, status.queue_records + status.queue_blobs_up
    finally:
        database.close()  # the files are about to go


def decommission(nd: NodeDir, *, force: bool = False) -> DecommissionResult:
    """Final sync and revocation must succeed unless `force` (then unsent records are lost)."""
    identity = nd.identity()
    nd.refuse_if_running()
    synced, sync_error, unsent = final_sync(nd)
    if not synced and not force:
        raise ProvisioningError(
            N_(
                "Последняя синхронизация не удалась (%(error)s); не отправлено: %(n)s. Подключите "
                "киоск к центру и повторите, или добавьте --force, чтобы стереть данные без неё"
            ),
            error=sync_error,
            n=unsent,
        )
    revoked, revoke_error = True, ""
    try:
        FleetLink.to(identity.central_url, identity.node_id, nd.node_key()).call(
            "POST", "/decommission", {}
        )
    except USER_ERRORS as exc:
        revoked, revoke_error = False, exc.message
        if not force:
            raise ProvisioningError(
                N_(
                    "Центр не отозвал ключ киоска (%(error)s). Повторите при связи или добавьте "
                    "--force и отзовите киоск на странице «Парк киосков»"
                ),
                error=revoke_error,
            ) from exc
    removed = []
    for name in _WIPED:
        path = nd.root / name
        if path.is_file():
            path.unlink()
            removed.append(name)
    for name in ("blobs", "tmp"):
        if (nd.root / name).is_dir():
            shutil.rmtree(nd.root / name)
            removed.append(name + "/")
    nd.identity_file.rename(nd.root / "node.json.decommissioned")
    nd.log(
        "decommissioned",
        node_id=identity.node_id,
        final_sync=synced,
        sync_error=sync_error,
        unsent=unsent,
        revoked_at_central=revoked,
        revoke_error=revoke_error,
        removed=removed,
    )
    return DecommissionResult(identity.node_id, synced, sync_error, revoked, revoke_error, removed)
