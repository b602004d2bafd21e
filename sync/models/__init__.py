"""Every replicated model, in the order a peer must apply them (parents first)."""

from __future__ import annotations

from .appeals import (
    DEFAULT_DEADLINES,
    TAKE_IN_WORK_LEAD,
    Appeal,
    AppealKind,
    AppealStatus,
    Attachment,
    AttachmentKind,
    ContactMode,
    Diagnosis,
    FormOfCare,
    Protocol,
    configure_deadlines,
)
from .base import BaseModel, SyncModel, SyncSequence, new_id, next_seq
from .directory import Organization, OrgKind, Region, Role, Specialty, Staff, StaffCredential
from .patients import Patient, Sex
from .schedule import Slot

#: Dependency order: a row's parents come earlier in this list.
REPLICATED_MODELS: list[type[SyncModel]] = [
    Region,
    Organization,
    Specialty,
    Staff,
    StaffCredential,
    Slot,
    Patient,
    Appeal,
    Protocol,
    Diagnosis,
    Attachment,
]

#: What a post may create or change; everything else is central's.
WRITABLE_BY_POST: frozenset[type[SyncModel]] = frozenset({Patient, Appeal, Attachment})

MODELS_BY_TABLE: dict[str, type[SyncModel]] = {m._meta.table_name: m for m in REPLICATED_MODELS}

__all__ = [
    "REPLICATED_MODELS",
    "WRITABLE_BY_POST",
    "MODELS_BY_TABLE",
    "BaseModel",
    "SyncModel",
    "SyncSequence",
    "new_id",
    "next_seq",
    "Region",
    "Organization",
    "OrgKind",
    "Specialty",
    "Staff",
    "StaffCredential",
    "Role",
    "Slot",
    "Patient",
    "Sex",
    "Appeal",
    "AppealStatus",
    "AppealKind",
    "ContactMode",
    "FormOfCare",
    "Protocol",
    "Diagnosis",
    "Attachment",
    "AttachmentKind",
    "TAKE_IN_WORK_LEAD",
    "DEFAULT_DEADLINES",
    "configure_deadlines",
]
