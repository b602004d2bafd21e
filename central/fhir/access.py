"""Who reads the FHIR API and what they may see; every read is recorded.

A reader is a consultant or an administrator logged in to central (the same
session as the pages and the JSON API), or a region's МИС with an API token.
What each may see is what the pages show:

- an administrator: every appeal and patient;
- a consultant: the appeals of their queues (addressed to them, or open to their
  specialty from their region's posts: `central.appeals.service.appeals_visible_to`)
  and the patients of those appeals, with everything recorded about them;
- a МИС: the appeals and patients of its region's posts.

Directories (organisations, practitioners) are open to every reader. Every read is
written to the access journal (`record_access`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import has_request_context, request
from peewee import Expression

from central.appeals.service import appeals_visible_to
from domain.models import AccessAction, Appeal, Organization, Patient, Role, Staff, append_entry

from .mapping import Resource
from .tokens import FhirToken

__all__ = ["Reader", "record_access", "READER_ROLES"]

#: Staff who may read the FHIR API with their session.
READER_ROLES = (Role.CONSULTANT, Role.ADMIN)

_log = logging.getLogger("faplink.fhir.access")
#: At most this many resource ids in one journal row (the export writes a row per batch).
_MAX_RECORDS = 1000


@dataclass(frozen=True)
class Reader:
    """A consultant, an administrator, a МИС's token, or the bulk export (one region or all)."""

    staff: Staff | None = None
    token: FhirToken | None = None
    region_id: str | None = None  # the export for one region's МИС
    everything: bool = False  # the export of all regions

    @property
    def region(self) -> str | None:
        return self.token.region_id if self.token is not None else self.region_id

    @property
    def name(self) -> str:
        """Who, for the access record: a staff id or a token id (never a person's name)."""
        if self.staff is not None:
            return f"staff:{self.staff.id}"
        if self.token is not None:
            return f"token:{self.token.id}"
        return f"export:{self.region_id or 'all'}" if (self.region_id or self.everything) else "nobody"

    def appeals(self) -> Expression:
        """The condition on Appeal of the appeals this reader may see."""
        live = Appeal.deleted == False  # noqa: E712
        if self.everything or (self.staff is not None and self.staff.role == Role.ADMIN):
            return live
        if self.staff is not None:
            return appeals_visible_to(self.staff)
        if self.region is not None:
            return live & Appeal.post.in_(_posts_of(self.region))
        return Appeal.id.is_null()  # nothing

    def patients(self) -> Expression:
        """The condition on Patient of the patients this reader may see."""
        live = Patient.deleted == False  # noqa: E712
        if self.everything or (self.staff is not None and self.staff.role == Role.ADMIN):
            return live
        if self.staff is None and self.region is not None:
            return live & Patient.organization.in_(_posts_of(self.region))
        return live & Patient.id.in_(Appeal.select(Appeal.patient).where(self.appeals()))


def _posts_of(region_id: str) -> Any:
    return Organization.select(Organization.id).where(Organization.region == region_id)


#: Our interactions → the access journal's kinds of access.
_ACTIONS = {
    "read": AccessAction.VIEW,
    "everything": AccessAction.VIEW,
    "search": AccessAction.SEARCH,
    "binary": AccessAction.DOWNLOAD,
    "export": AccessAction.EXPORT,
}


def _patients_in(resources: Sequence[Resource]) -> set[str]:
    found = set()
    for resource in resources:
        if resource.get("resourceType") == "Patient":
            found.add(str(resource.get("id", "")))
        for name in ("subject", "patient"):
            target = (resource.get(name) or {}).get("reference", "")
            if target.startswith("Patient/"):
                found.add(target.removeprefix("Patient/"))
    return found


def record_access(
    reader: Reader,
    interaction: str,
    resource_type: str,
    resources: Sequence[Resource] = (),
    *,
    ids: Sequence[str] = (),
    patient: str = "",
    parameters: Sequence[str] = (),
) -> None:
    """Write the read to the access journal («Журнал доступа», `domain.models.AccessEntry`).

    Who (the consultant or administrator, or the МИС's token), how (read, search,
    `$everything`, a file, the export), which resources (ids only), whose data (the
    patient, when one), which search parameters (names, never values). The export writes
    one row per batch. Writing the row is part of answering: if it fails, so does the read.
    """
    listed = list(dict.fromkeys([*ids, *(f"{r['resourceType']}/{r['id']}" for r in resources)]))
    if not patient:
        patients = _patients_in(resources)
        patient = next(iter(patients)) if len(patients) == 1 else ""
    staff = reader.staff
    who = f" {reader.name}" if staff is None else ""
    fields = f" ({','.join(sorted(set(parameters)))})" if parameters else ""
    append_entry(
        staff=staff.id if staff is not None else None,
        role=(staff.role if staff is not None else ("mis" if reader.token is not None else "export"))[:16],
        organization=staff.organization_id if staff is not None else None,
        address=(request.remote_addr or "")[:64] if has_request_context() else "",
        action=_ACTIONS.get(interaction, AccessAction.VIEW),
        kind=f"fhir:{resource_type}"[:24],
        record=listed[0].split("/", 1)[-1] if len(listed) == 1 else "",
        patient=patient,
        records=" ".join(listed[:_MAX_RECORDS]),
        detail=f"FHIR {interaction}{who}{fields}"[:200],
    )
    _log.info("%s %s %s: %d resource(s)", reader.name, interaction, resource_type, len(listed))
