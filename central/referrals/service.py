"""The referrals a consultant issued: «все выписанные вами направления», newest first.

A centre keeps many referrals, so the list is read a page at a time through an index on
(author, created_at) that central adds to the replicated table (posts need no such index).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from peewee import JOIN, DatabaseError, Expression

from domain.errors import ValidationError
from domain.models import Organization, Patient, Referral, ReferralStatus, Specialty, Staff
from i18n import N_
from sync.db import database

__all__ = [
    "ReferralFilter",
    "ReferralPage",
    "issued_by",
    "page_query",
    "ensure_index",
    "INDEX_NAME",
    "PER_PAGE",
    "VALIDITY",
    "STATUS_LABELS",
    "state",
]

INDEX_NAME = "referral_author_created"
PER_PAGE = 25

#: The referral's status as the list names it (Russian msgids).
STATUS_LABELS = {
    ReferralStatus.ACTIVE: N_("действует"),
    ReferralStatus.USED: N_("использовано"),
    ReferralStatus.CANCELLED: N_("отменено"),
}
EXPIRED = N_("срок истёк")

#: «Срок действия» as the filter offers it (Russian msgids).
VALIDITY = {
    "valid": N_("Действующие"),
    "expired": N_("Срок истёк"),
    "indefinite": N_("Бессрочные"),
}


def ensure_index() -> None:
    """The index the list reads through; several central instances may start at once."""
    table = Referral._meta.table_name
    columns = ", ".join(f'"{f.column_name}"' for f in (Referral.author, Referral.created_at))
    try:
        with database.atomic():
            database.execute_sql(f'CREATE INDEX IF NOT EXISTS "{INDEX_NAME}" ON "{table}" ({columns})')
    except DatabaseError:
        if INDEX_NAME not in {i.name for i in database.get_indexes(table)}:
            raise


def state(referral: Referral, today: date) -> str:
    """What the list says of a referral today (a Russian msgid): its status, or that it expired."""
    if referral.status == ReferralStatus.ACTIVE and not referral.is_valid_on(today):
        return EXPIRED
    return STATUS_LABELS.get(referral.status, referral.status)


@dataclass(frozen=True)
class ReferralFilter:
    """What the consultant narrowed the list to; empty means «все»."""

    status: str = ""
    validity: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> ReferralFilter:
        """Read the GET parameters; an impossible value is refused with a message."""
        status = str(args.get("status") or "").strip()
        if status and status not in ReferralStatus.ALL:
            raise ValidationError(N_("Неизвестный статус направления"), field="status")
        validity = str(args.get("validity") or "").strip()
        if validity and validity not in VALIDITY:
            raise ValidationError(N_("Неизвестный срок действия направления"), field="validity")
        return cls(status, validity)

    def where(self, today: date) -> Expression | None:
        conditions = []
        if self.status:
            conditions.append(Referral.status == self.status)
        if self.validity == "valid":
            conditions.append(
                (Referral.status == ReferralStatus.ACTIVE)
                & (Referral.valid_until.is_null() | (Referral.valid_until >= today))
            )
        elif self.validity == "expired":
            conditions.append(Referral.valid_until.is_null(False) & (Referral.valid_until < today))
        elif self.validity == "indefinite":
            conditions.append(Referral.valid_until.is_null())
        if not conditions:
            return None
        combined = conditions[0]
        for condition in conditions[1:]:
            combined &= condition
        return combined

    def as_args(self) -> dict[str, str]:
        return {k: v for k, v in (("status", self.status), ("validity", self.validity)) if v}


@dataclass(frozen=True)
class ReferralPage:
    referrals: list[Referral]
    page: int
    pages: int
    total: int


def _query(staff: Staff, filters: ReferralFilter, today: date) -> Any:
    query = Referral.select().where((Referral.author == staff.id) & (Referral.deleted == False))  # noqa: E712
    narrowed = filters.where(today)
    return query.where(narrowed) if narrowed is not None else query


def page_query(staff: Staff, filters: ReferralFilter, today: date, page: int = 1) -> Any:
    """One page's rows with their patient, post, specialty and named doctor, in one query."""
    doctor = Staff.alias()
    return (
        _query(staff, filters, today)
        .select_extend(Patient, Organization, Specialty, doctor)
        .join(Patient, on=(Referral.patient == Patient.id))
        .switch(Referral)
        .join(Organization, on=(Referral.post == Organization.id))
        .switch(Referral)
        .join(Specialty, on=(Referral.specialty == Specialty.id))
        .switch(Referral)
        .join(doctor, JOIN.LEFT_OUTER, on=(Referral.consultant == doctor.id))
        .order_by(Referral.created_at.desc())
        .paginate(page, PER_PAGE)
    )


def issued_by(staff: Staff, filters: ReferralFilter, today: date, page: int = 1) -> ReferralPage:
    """One page of the referrals ``staff`` issued, newest first; ``today`` in the staff's zone."""
    total = _query(staff, filters, today).count()
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(page, 1), pages)
    return ReferralPage(list(page_query(staff, filters, today, page)), page, pages, total)
