"""Every replicated model, in the order a peer must apply them (parents first)."""

from __future__ import annotations

from sync.model import SyncModel

from .access import (
    AccessAction,
    AccessChainHead,
    AccessEntry,
    ChainBreak,
    ChainFork,
    append_entry,
    restore_forks,
    verify_chains,
)
from .appeals import (
    DEFAULT_DEADLINES,
    TAKE_IN_WORK_LEAD,
    Appeal,
    AppealKind,
    AppealStatus,
    Attachment,
    AttachmentKind,
    ConsentGiver,
    ContactMode,
    Diagnosis,
    DiagnosisRole,
    FormOfCare,
    Protocol,
    configure_deadlines,
)
from .clinical import CATALOGUE, LABS, VITALS, Consciousness, Exam, Observation
from .conversation import CallLog, CallMode, CallOutcome, ChatMessage
from .directory import Organization, OrgKind, Region, Role, Specialty, Staff, StaffCredential
from .patients import REPRESENTATIVE_REQUIRED_UNDER, Patient, Relation, Sex
from .routing import Referral, ReferralStatus, SupportKind, SupportRequest
from .schedule import ScheduleTemplate, Slot

#: Dependency order: a row's parents come earlier in this list.
REPLICATED_MODELS: list[type[SyncModel]] = [
    Region,
    Organization,
    Specialty,
    Staff,
    StaffCredential,
    ScheduleTemplate,
    Slot,
    Patient,
    Appeal,
    Exam,
    Observation,
    Protocol,
    Diagnosis,
    Attachment,
    ChatMessage,
    CallLog,
    Referral,
    SupportRequest,
    AccessEntry,
]

__all__ = [
    "REPLICATED_MODELS",
    "Region",
    "Organization",
    "OrgKind",
    "Specialty",
    "Staff",
    "StaffCredential",
    "Role",
    "Slot",
    "ScheduleTemplate",
    "Exam",
    "Observation",
    "VITALS",
    "LABS",
    "CATALOGUE",
    "Consciousness",
    "ChatMessage",
    "CallLog",
    "CallMode",
    "CallOutcome",
    "Referral",
    "ReferralStatus",
    "SupportRequest",
    "SupportKind",
    "Patient",
    "Sex",
    "Relation",
    "REPRESENTATIVE_REQUIRED_UNDER",
    "Appeal",
    "AppealStatus",
    "AppealKind",
    "ContactMode",
    "FormOfCare",
    "Protocol",
    "Diagnosis",
    "DiagnosisRole",
    "ConsentGiver",
    "Attachment",
    "AttachmentKind",
    "TAKE_IN_WORK_LEAD",
    "DEFAULT_DEADLINES",
    "configure_deadlines",
    "AccessEntry",
    "AccessAction",
    "AccessChainHead",
    "ChainBreak",
    "ChainFork",
    "append_entry",
    "verify_chains",
    "restore_forks",
]
