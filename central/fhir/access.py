"""Who reads the FHIR API and what they may see; every read is recorded.

A reader is a consultant or an administrator logged in to central (the same
session as the pages and the JSON API), or a region's МИС with an API token.
What each may see is what the pages show:

- an administrator: every appeal and patient;
- a consultant: the appeals of their queues (addressed to them, or open to their
  specialty from their region's posts: `central.appeals.service.appeals_visible_to`)
  and the patients of those appeals, with everything recorded about them;
- a МИС: the appeals and patients of its region's posts.

Directories (organisations, practitioners) are open to every reader.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import has_request_context, request
from peewee import Expression

from central.appeals.service import appeals_visible_to
from faplink.web import audit
from sync.models import Appeal, Organization, Patient, Role, Staff

from .tokens import FhirToken

__all__ = ["Reader", "record_access", "READER_ROLES"]

#: Staff who may read the FHIR API with their session.
READER_ROLES = (Role.CONSULTANT, Role.ADMIN)

_log = logging.getLogger("faplink.fhir.access")


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


def record_access(reader: Reader, interaction: str, resource_type: str, ids: Iterable[str]) -> None:
    """Record a read of personal data: who, how, which resources (ids only, no personal data).

    One line per request to the ``faplink.fhir.access`` logger, and one row in «Журнал
    доступа» (`faplink.web.audit`); every FHIR read and the export pass through here.
    """
    shown = list(ids)
    _log.info(
        "%s %s %s: %d resource(s) %s",
        reader.name,
        interaction,
        resource_type,
        len(shown),
        ",".join(shown[:50]) + (",…" if len(shown) > 50 else ""),
    )
    _journal(reader, interaction, resource_type, shown)


#: The journal's kind of access for each FHIR interaction.
_ACTIONS = {
    "read": audit.AccessAction.VIEW,
    "search": audit.AccessAction.SEARCH,
    "everything": audit.AccessAction.EXPORT,
    "export": audit.AccessAction.EXPORT,
}


def _journal(reader: Reader, interaction: str, resource_type: str, ids: list[str]) -> None:
    """The same read in «Журнал доступа»: a search's parameter names, never their values."""
    detail = interaction
    if interaction == "search" and has_request_context():
        detail += " " + ",".join(sorted(request.args.keys()))[:120]
    if reader.token is not None:
        detail += f" token:{reader.token.id}"
    elif reader.staff is None:
        detail += f" {reader.name}"
    first = ids[0].removeprefix("Patient/") if ids else ""
    patient = first if resource_type == "Patient" and (len(ids) == 1 or interaction == "everything") else ""
    audit.exported(
        f"fhir:{resource_type}"[:24],
        ids,
        action=_ACTIONS.get(interaction, audit.AccessAction.VIEW),
        patient=patient,
        detail=detail,
        staff=reader.staff,
        role="mis" if reader.token is not None else ("" if reader.staff is not None else "export"),
    )
