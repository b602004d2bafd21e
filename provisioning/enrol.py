"""Enrolling a kiosk online with a one-time token (offline bundles: provisioning.offline).

Register the kiosk's own new key with central, fetch the centre's CA
certificate, run the first full sync (the post's directories, its
feldshers' logins, its patients) with progress, report to central.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.models import REPLICATED_MODELS, Organization, OrgKind, Role, Staff, StaffCredential
from enrolment.bundle import fingerprint
from node.datakey import DataKey
from node.identity import NodeIdentity
from sync.client import RoundReport, parse_url, request_enrolment
from sync.clock import utcnow
from sync.db import FILE_ERRORS, connect_file, open_database
from sync.request_signing import NodeKey
from sync.session import Trust, offset_from, received_at
from web.errors import USER_ERRORS

from .errors import N_, AlreadyEnrolledError
from .layout import NodeDir
from .link import FleetLink
from .recovery import fetch_recovery_key, protect_key
from .report import build_report, send_report

__all__ = [
    "Progress",
    "EnrolmentSummary",
    "enrol_with_token",
    "first_sync",
    "prepare_directory",
    "describe_post",
    "fetch_recovery_key",
]


@dataclass
class Progress:
    """How far the first sync has got: records here of those central holds for the post."""

    records: int
    total: int | None
    bytes_done: int = 0
    bytes_total: int = 0


ProgressCallback = Callable[[Progress], None]


@dataclass
class EnrolmentSummary:
    node_id: str
    organization_id: str
    post_name: str
    central_url: str
    via: str  # token / bundle
    key_fingerprint: str
    feldshers: list[str] = field(default_factory=list)  # "Фамилия И.О. (login)"
    records: int = 0
    ca_certificate: bool = False
    centre_key_fingerprint: str = ""
    synced: bool = False
    sync_error: str = ""
    replaced_dir: str = ""
    unsent_left: int = 0  # records the replaced node could not send (-1: unknown)
    key_protection: str = ""  # how the post's data key is kept: "tpm" or "keyring"
    self_test: dict[str, Any] | None = None


# -- the data directory before enrolment ------------------------------------------


def prepare_directory(nd: NodeDir, force: bool) -> tuple[str, str, int]:
    """Refuse an enrolled directory unless forced; when forced, sync and retire the old node
    and move its files aside (nothing is deleted).
    Returns (moved-to directory, pinned centre key, records the old node could not send)."""
    pinned = str(nd.record().get("centre_bundle_key", ""))
    if not nd.enrolled():
        return "", pinned, 0
    if not force:
        identity = nd.identity()
        raise AlreadyEnrolledError(
            N_(
                "Киоск уже зарегистрирован (%(node)s) в %(dir)s. Чтобы зарегистрировать его заново "
                "с новым ключом, добавьте --force"
            ),
            node=identity.node_id,
            dir=str(nd.root),
        )
    nd.refuse_if_running()
    unsent = _last_round(nd)
    _retire_old_key(nd)
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    aside = nd.root.with_name(f"{nd.root.name}.replaced-{stamp}")
    aside.mkdir(parents=True)
    for child in nd.root.iterdir():
        shutil.move(str(child), aside / child.name)
    nd.log("replaced", moved_to=str(aside), unsent=unsent)
    return str(aside), pinned, unsent


def _last_round(nd: NodeDir) -> int:
    """Best effort: send what the old node still holds; returns how many records stayed unsent."""
    from .decommission import final_sync

    try:
        return final_sync(nd)[2]
    except Exception:  # a broken old node is why it is being replaced
        return -1


def _retire_old_key(nd: NodeDir) -> None:
    """Best effort: the old node asks central to revoke its own key before it is replaced."""
    try:
        identity = nd.identity()
        link = FleetLink.to(identity.central_url, identity.node_id, nd.node_key(), timeout=5)
        link.call("POST", "/decommission", {})
    except Exception:  # offline, already revoked, broken key: the fleet page can still revoke it
        pass


# -- online -------------------------------------------------------------------------


def enrol_with_token(
    nd: NodeDir,
    central_url: str,
    token: str,
    *,
    node_id: str | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    verify: Trust = True,
) -> EnrolmentSummary:
    """Register with central by token, then sync, fetch the CA certificate and report; `verify`:
    the TLS trust for central's HTTPS (a CA bundle's path, or True for the system's store)."""
    url = parse_url(central_url)
    node_id = node_id or f"kiosk-{secrets.token_hex(5)}"
    key = NodeKey.generate()
    if nd.enrolled() and not force:
        prepare_directory(nd, force)  # raises: say so before spending the token
    # Central refuses a bad token before anything local changes.
    sent = time.time()
    answer = request_enrolment(url, token, key, node_id, verify=verify)
    offset = offset_from(answer["server_time_ms"], sent, time.time(), received_at(answer))
    replaced, pinned, unsent = prepare_directory(nd, force)
    identity = NodeIdentity(node_id, str(answer["organization"]), url, nd.root, clock_offset_ms=offset)
    nd.root.mkdir(parents=True, exist_ok=True)
    data_key = DataKey.generate()  # the post's data is encrypted from its first byte, its key too
    nd.remember_key(data_key)
    nd.save_node_key(key)
    identity.save()
    nd.update_record(enrolled_via="token", enrolled_at=utcnow().isoformat(), centre_bundle_key=pinned)
    nd.log("enrolled", via="token", node_id=node_id, central=url)
    summary = EnrolmentSummary(
        node_id,
        identity.organization_id,
        "",
        url,
        "token",
        fingerprint(key.public_hex),
        replaced_dir=replaced,
        unsent_left=unsent,
    )
    link = FleetLink.to(url, node_id, key, clock_offset_ms=offset, verify=verify)
    summary.key_protection = protect_key(nd, data_key, node_id, fetch_recovery_key(link))
    _fetch_ca(nd, link)
    try:
        first_sync(nd, link, progress)
        summary.synced = True
    except USER_ERRORS as exc:
        summary.sync_error = exc.message
    describe_post(nd, summary)
    return summary


def _fetch_ca(nd: NodeDir, link: FleetLink) -> None:
    try:
        pem = str(link.call("GET", "/ca-certificate").get("pem") or "")
    except USER_ERRORS:
        return  # the certificate also travels with the centre's directory record
    if pem:
        nd.ca_file.write_text(pem)


def _local_records(path: Path, key: bytes | None = None) -> int:
    """Rows of replicated tables in node.db, counted on a connection of its own."""
    try:
        conn = connect_file(path, key, read_only=True)
    except FILE_ERRORS:
        return 0
    try:
        total = 0
        for model in REPLICATED_MODELS:
            try:
                total += conn.execute(f'SELECT count(*) FROM "{model._meta.table_name}"').fetchone()[0]
            except FILE_ERRORS:
                pass
        return total
    finally:
        conn.close()


def first_sync(nd: NodeDir, link: FleetLink, progress: ProgressCallback | None = None) -> RoundReport:
    """One full round through the node's own sync client, reporting progress while it runs."""
    from node import create_app

    app = create_app(nd.node_config(SYNC_ENABLED=False, TLS_CA=link.central.verify))
    client = app.extensions["sync_client"]
    total: int | None = None
    try:
        total = int(link.call("GET", "/backlog")["records"])
    except (*USER_ERRORS, KeyError, TypeError, ValueError):
        pass  # an older central: progress without a total
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.5):
            if progress is not None:
                status = client.status
                records = _local_records(nd.database, nd.database_key())
                progress(Progress(records, total, status.bytes_done, status.bytes_total))

    watcher = threading.Thread(target=watch, name="faplink-enrol-progress", daemon=True)
    watcher.start()
    try:
        report = client.run_round()
    finally:
        done.set()
        watcher.join()
    if progress is not None:
        status = client.status
        records = _local_records(nd.database, nd.database_key())
        progress(Progress(records, total, status.bytes_done, status.bytes_total))
    try:
        send_report(link, build_report(nd, client.status.as_dict()))
    except USER_ERRORS:
        pass  # the worker reports again later
    return report


def describe_post(nd: NodeDir, summary: EnrolmentSummary) -> None:
    """Fill the summary from what the kiosk now holds: the post, its feldshers, the CA."""
    db = open_database(nd.database, nd.database_key())
    try:
        post = Organization.get_or_none(Organization.id == summary.organization_id)
        summary.post_name = post.name if post is not None else ""
        feldshers = list(
            Staff.live()
            .where((Staff.organization == summary.organization_id) & (Staff.role == Role.FELDSHER))
            .order_by(Staff.last_name)
        )
        logins = {
            c.staff_id: c.login
            for c in StaffCredential.live().where(StaffCredential.staff.in_([s.id for s in feldshers]))
        }
        summary.feldshers = [f"{s.short_name} ({logins.get(s.id, '—')})" for s in feldshers]
        summary.records = _local_records(nd.database, nd.database_key())
        has_ca = (
            Organization.select()
            .where((Organization.kind == OrgKind.CENTRE) & (Organization.ca_certificate != ""))
            .exists()
        )
        summary.ca_certificate = has_ca or nd.ca_file.is_file()
    finally:
        db.close()
