"""Enrolling a kiosk with no link, from a bundle central signed (see enrolment.bundle).

Verify the bundle, check the centre's key against the one this kiosk pins,
write the key and the records the bundle carries, and set the pull cursor
to where the bundle stops, so the first real sync (whenever a link appears)
repeats nothing.
"""

from __future__ import annotations

from pathlib import Path

from enrolment.bundle import Bundle, fingerprint, open_bundle
from node.datakey import KEYRING_FILE, DataKey, wrap_for_logins
from node.identity import NodeIdentity
from node.keyring import post_credentials
from sync.apply import apply_records
from sync.changes import latest_stamp
from sync.clock import utcnow
from sync.db import bind_replica, database, open_database
from sync.errors import AuthError
from sync.migrations import migrate
from sync.request_signing import NodeKey
from sync.state import NODE_MIGRATIONS, Cursor

from .enrol import EnrolmentSummary, describe_post, prepare_directory
from .errors import N_, BundleError, ProvisioningError
from .layout import NodeDir
from .recovery import protect_key

__all__ = ["read_bundle", "enrol_from_bundle"]


def read_bundle(path: Path) -> Bundle:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(
            N_("Не удалось прочитать файл пакета %(path)s: %(error)s"), path=str(path), error=str(exc)
        ) from exc
    return open_bundle(data)


def enrol_from_bundle(nd: NodeDir, bundle: Bundle, *, force: bool = False) -> EnrolmentSummary:
    """Enrol from a verified bundle with no link: the kiosk can be used at once."""
    pinned = str(nd.record().get("centre_bundle_key", ""))
    if pinned and pinned != bundle.centre_key:
        raise BundleError(
            N_(
                "Пакет подписан другим ключом центра (%(theirs)s), а этот киоск доверяет ключу "
                "%(ours)s. Проверьте, из какого центра пакет"
            ),
            theirs=fingerprint(bundle.centre_key),
            ours=fingerprint(pinned),
        )
    replaced, _pinned, unsent = prepare_directory(nd, force)
    nd.root.mkdir(parents=True, exist_ok=True)
    identity = NodeIdentity(bundle.node_id, bundle.organization_id, bundle.central_url, nd.root)
    data_key = DataKey.generate()  # the post's data is encrypted from its first byte
    nd.remember_key(data_key)
    try:
        nd.save_node_key(_bundle_key(bundle))
        ca = str(bundle.payload.get("ca_certificate") or "")
        if ca:
            nd.ca_file.write_text(ca)
        _load_records(nd, bundle)
    except BaseException:
        for leftover in (nd.key_file, nd.ca_file, nd.root / KEYRING_FILE, *nd.root.glob("node.db*")):
            leftover.unlink(missing_ok=True)
        raise
    key = nd.node_key()
    protection = protect_key(nd, data_key, bundle.node_id, str(bundle.payload.get("recovery_key") or ""))
    identity.save()  # last: until node.json exists the directory does not count as enrolled
    nd.update_record(
        enrolled_via="bundle",
        enrolled_at=utcnow().isoformat(),
        bundle_id=bundle.payload.get("bundle_id", ""),
        centre_bundle_key=bundle.centre_key,
        rotate_pending=True,
    )
    nd.log("enrolled", via="bundle", node_id=bundle.node_id, bundle=bundle.payload.get("bundle_id", ""))
    summary = EnrolmentSummary(
        bundle.node_id,
        bundle.organization_id,
        str(bundle.payload.get("organization_name", "")),
        bundle.central_url,
        "bundle",
        fingerprint(key.public_hex),
        centre_key_fingerprint=fingerprint(bundle.centre_key),
        replaced_dir=replaced,
        unsent_left=unsent,
        key_protection=protection,
    )
    describe_post(nd, summary)
    return summary


def _bundle_key(bundle: Bundle) -> NodeKey:
    try:
        return NodeKey.from_pem(str(bundle.payload["node_key"]).encode())
    except AuthError as exc:
        raise BundleError(N_("В пакете повреждён ключ киоска: выгрузите пакет заново")) from exc


def _load_records(nd: NodeDir, bundle: Bundle) -> None:
    """Apply the bundle's records as if pulled from central, and continue from its cursor."""
    key = nd.data_key()
    assert key is not None  # enrol_from_bundle made it
    db = open_database(nd.database, key.database_key)
    try:
        migrate(db, NODE_MIGRATIONS)
        bind_replica(bundle.node_id, latest_stamp())
        with database.atomic():
            result = apply_records(bundle.records, peer="central", from_central=True)
            if result.refused or result.pending:
                raise ProvisioningError(
                    N_("Записи пакета не легли в базу киоска (%(n)s отклонено): выгрузите пакет заново"),
                    n=len(result.refused) + result.pending,
                )
            Cursor.write("pull", bundle.cursor)
        # The bundle brought the post's feldshers' logins: their passwords open the data now.
        wrap_for_logins(nd.root, key, bundle.node_id, post_credentials(bundle.organization_id))
    finally:
        db.close()
