"""Exporting an offline enrolment bundle for a post (format: enrolment.bundle)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.errors import ValidationError
from domain.models import AccessAction, Organization, OrgKind
from domain.models.directory import region_centres
from enrolment.bundle import FORMAT, centre_bundle_key, fingerprint, public_hex, seal
from enrolment.recovery_key import recovery_public_hex
from i18n import N_
from sync.changes import collect_changes, latest_seq
from sync.client import parse_url
from sync.clock import utcnow
from sync.db import database
from sync.server import register_node
from web import audit

__all__ = ["ExportedBundle", "export_bundle", "centre_ca_pem", "bundle_key_fingerprint"]

#: More than any post's records: the bundle carries all of them.
_ALL = 10**9


@dataclass(frozen=True)
class ExportedBundle:
    data: bytes
    node_id: str
    post_name: str
    records: int
    centre_fingerprint: str

    @property
    def filename(self) -> str:
        return f"faplink-{self.node_id}.bundle"


def bundle_key_fingerprint(central_data_dir: Path) -> str:
    return fingerprint(public_hex(centre_bundle_key(central_data_dir)))


def centre_ca_pem(central_data_dir: Path, post_id: str) -> str:
    """The certificate of the CA that signs protocols for this post's region, if there is one."""
    row = (
        Organization.select(Organization.ca_certificate)
        .where(Organization.id.in_(region_centres(post_id)) & (Organization.ca_certificate != ""))
        .first()
    )
    if row is not None:
        return str(row.ca_certificate)
    for candidate in (central_data_dir / "ca.crt", central_data_dir / "ca" / "ca.crt"):
        if candidate.is_file():
            return candidate.read_text()
    return ""


def export_bundle(
    central_data_dir: Path,
    organization_id: str,
    central_url: str,
    *,
    created_by: str = "",
    node_id: str | None = None,
) -> ExportedBundle:
    """Pre-register a kiosk for a post and seal everything it needs to start offline."""
    post = Organization.get_or_none(Organization.id == organization_id)
    if post is None or post.kind != OrgKind.POST or post.deleted:
        raise ValidationError(N_("Такого ФАП нет в справочнике центра"), field="organization")
    url = parse_url(central_url)
    node_id = node_id or f"kiosk-{secrets.token_hex(5)}"
    node_key = Ed25519PrivateKey.generate()
    signing_key = centre_bundle_key(central_data_dir)
    with database.atomic():  # one snapshot: the records and the cursor they reach
        cursor = latest_seq()
        rows, _more = collect_changes(0, _ALL, scope_org=organization_id)
        register_node(node_id, organization_id, public_hex(node_key))
    payload = {
        "format": FORMAT,
        "bundle_id": secrets.token_hex(8),
        "created_at": utcnow().isoformat(),
        "created_by": created_by,
        "node_id": node_id,
        "organization_id": organization_id,
        "organization_name": post.name,
        "central_url": url,
        "node_key": node_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        "ca_certificate": centre_ca_pem(central_data_dir, organization_id),
        # The post wraps a copy of its data key to it, for recovery (provisioning.recovery).
        "recovery_key": recovery_public_hex(central_data_dir),
        "cursor": cursor,
        "records": [row.to_wire() for row in rows],
    }
    # The bundle carries the post's patients: an export of personal data (who: the engineer at
    # the fleet page, nobody at the command line).
    audit.record(
        AccessAction.EXPORT,
        kind="bundle",
        record_id=node_id,
        detail=f"post {organization_id}: {len(rows)} records",
        role="cli" if created_by == "cli" else "",
    )
    return ExportedBundle(
        data=seal(payload, signing_key),
        node_id=node_id,
        post_name=post.name,
        records=len(rows),
        centre_fingerprint=fingerprint(public_hex(signing_key)),
    )
