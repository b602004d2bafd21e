"""Telling central how this kiosk is: queues, free disk, self-test, versions, clock.

Central shows the reports on its fleet page («Парк киосков»). The node's
sync worker knows nothing of provisioning, so the report travels by a
`Reporter` added to the SyncClient's listeners (see `attach_reporter`): after
a round that reached central it sends a report (at most every few minutes,
in the background) and, for a kiosk enrolled from a bundle, replaces the key
that came on the USB stick with one made here; for a post enrolled before the
recovery copy of its data key existed, it fetches central's recovery key and
makes the copy.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from domain.migrations import SCHEMA_VERSION
from node.datakey import wrap_for_recovery
from node.devicecheck.results import latest_result
from node.identity import NodeIdentity
from node.keyring import has_recovery_copy
from node.link_monitor.measure import load_latest, offered_mode
from sync import PROTOCOL_VERSION
from sync.client import SyncClient, SyncStatus
from sync.clock import utcnow
from web.errors import USER_ERRORS

from .keys import rotate_key
from .layout import NodeDir
from .link import FleetLink
from .recovery import fetch_recovery_key
from .selftest import last_selftest

__all__ = ["software_version", "build_report", "send_report", "report_now", "Reporter", "attach_reporter"]

log = logging.getLogger(__name__)

#: States after which central has just heard from us (a round got through hello).
_REACHED = ("idle", "error", "update_required")


def software_version() -> str:
    try:
        return version("faplink")
    except PackageNotFoundError:
        return "dev"


def build_report(nd: NodeDir, status: dict[str, Any]) -> dict[str, Any]:
    """The report for central, from a sync status (SyncStatus.as_dict() or sync-status.json)."""
    try:
        free = shutil.disk_usage(nd.root).free
    except OSError:
        free = None
    return {
        "at": utcnow().isoformat(),
        "software": software_version(),
        "schema": SCHEMA_VERSION,
        "protocol": PROTOCOL_VERSION,
        "state": status.get("state"),
        "last_success": status.get("last_success"),
        "last_error": status.get("last_error"),
        "queues": {
            "emergency": status.get("queue_emergency", 0),
            "records": status.get("queue_records", 0),
            "blobs_up": status.get("queue_blobs_up", 0),
            "blobs_down": status.get("queue_blobs_down", 0),
            "pending_parents": status.get("pending_parents", 0),
        },
        "clock_offset_ms": status.get("clock_offset_ms"),
        "free_disk_bytes": free,
        "self_test": last_selftest(nd),
        "device_check": latest_result(nd.root),  # the kiosk page's «Проверка оборудования»
        "link": link_section(nd),  # the latest link measurement (node/link_monitor/measure.py)
    }


def link_section(nd: NodeDir) -> dict[str, Any] | None:
    """The kiosk's latest link measurement and the mode it offers."""
    quality = load_latest(nd.root)
    return None if quality is None else {**quality.as_dict(), "mode": offered_mode(quality)}


def send_report(link: FleetLink, report: dict[str, Any]) -> None:
    link.call("POST", "/report", report)


def report_now(nd: NodeDir) -> bool:
    """Send a report from the CLI (after a self-test) if central answers; whether it went."""
    try:
        identity = nd.identity()
        link = FleetLink.to(identity.central_url, identity.node_id, nd.node_key(), timeout=5)
        send_report(link, build_report(nd, nd.sync_status()))
    except Exception:  # offline or revoked: the self-test has already said so
        return False
    return True


class Reporter:
    """A SyncClient listener: after a round that reached central, report (and rotate a bundle key)."""

    def __init__(self, identity: NodeIdentity, client: SyncClient, *, every: float = 600.0) -> None:
        self.nd = NodeDir(identity.data_dir)
        if identity.data_key is not None:
            self.nd.remember_key(identity.data_key)  # node.key (and a rotated one) is sealed under it
        self.identity = identity
        self.client = client
        self.every = every
        self._last: float | None = None
        self._last_state = ""
        self._last_device_check: object = None
        self._recovery_asked: float | None = None

    def __call__(self, status: SyncStatus) -> None:
        if status.state not in _REACHED:
            return
        try:
            if status.state == "idle" and self.nd.record().get("rotate_pending"):
                self._replace_bundle_key(status)
            if status.state == "idle" and not has_recovery_copy(self.nd.root):
                self._make_recovery_copy(status)
            now = time.monotonic()
            checked = (latest_result(self.nd.root) or {}).get("at")  # a new device check goes out at once
            if (
                self._last is not None
                and now - self._last < self.every
                and status.state == self._last_state
                and checked == self._last_device_check
            ):
                return
            self._last, self._last_state, self._last_device_check = now, status.state, checked
            report = build_report(self.nd, status.as_dict())
            threading.Thread(target=self._send, args=(report,), name="faplink-report", daemon=True).start()
        except Exception:  # a report must never break the sync round that called us
            log.exception("could not prepare the fleet report")

    def _replace_bundle_key(self, status: SyncStatus) -> None:
        """Runs inside the round (the sync lock is held), so the client switches keys between requests."""
        try:
            self.client.key = rotate_key(self.nd, clock_offset_ms=status.clock_offset_ms)
            log.info("replaced the key that came with the enrolment bundle")
        except USER_ERRORS as exc:
            log.warning("could not replace the bundle's key yet: %s", exc.message)

    def _make_recovery_copy(self, status: SyncStatus) -> None:
        """Inside the round, like the keyring's own refresh (so the two never write it at once):
        central's recovery key over the sync's signed session, then the copy of the data key for it."""
        key = self.identity.data_key
        now = time.monotonic()
        if key is None or (self._recovery_asked is not None and now - self._recovery_asked < self.every):
            return
        self._recovery_asked = now
        centre_key = fetch_recovery_key(FleetLink(self.client.central))
        if not centre_key:
            log.info("central gave no recovery key yet: the post's data key has no recovery copy")
            return
        wrap_for_recovery(self.nd.root, key, self.identity.node_id, centre_key)
        log.info("keyring.json now holds a recovery copy of the data key for central's recovery key")

    def _send(self, report: dict[str, Any]) -> None:
        try:
            send_report(FleetLink(self.client.central), report)
        except USER_ERRORS as exc:
            log.info("fleet report not sent: %s", exc.message)


def attach_reporter(client: SyncClient, identity: NodeIdentity, *, every: float = 600.0) -> Reporter:
    """What node/syncing.py's start_sync calls: `attach_reporter(client, identity)`."""
    reporter = Reporter(identity, client, every=every)
    client.listeners.append(reporter)
    return reporter
