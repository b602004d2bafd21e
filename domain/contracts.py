"""Every replicated model's contract with the posts: who creates it, what a post may change,
which references must stay inside the post's own scope, which values and times a post may set.

Central enforces these on every record a post pushes (``sync.apply``); the table in the
README's sync section is this module in words. A model missing here is central's alone.
"""

from __future__ import annotations

from typing import Any

from i18n import N_
from sync.contract import CENTRAL_ONLY, Contract, Reference, Writer
from sync.model import SyncModel

from .booking import check_booked_by_post
from .models.access import AccessEntry
from .models.appeals import Appeal, Attachment, AttachmentKind, Diagnosis, Protocol
from .models.clinical import Exam, Observation
from .models.conversation import CallLog, ChatMessage
from .models.directory import Organization, Region, Specialty, Staff, StaffCredential
from .models.patients import Patient
from .models.routing import Referral, SupportRequest
from .models.schedule import ScheduleTemplate, Slot

__all__ = ["CONTRACTS", "POST_ATTACHMENT_KINDS"]

BOTH = frozenset({Writer.POST, Writer.CENTRAL})

#: What a post may attach: its own files, webcam photos, the signed consent form. Protocol
#: PDFs, their signatures and the consultant's files are central's.
POST_ATTACHMENT_KINDS = frozenset({AttachmentKind.FILE, AttachmentKind.PHOTO, AttachmentKind.CONSENT})


def _the_post(organization_id: str) -> Any:
    """The post itself (a record's own organisation field)."""
    return Organization.id == organization_id


def _people_of_the_post(organization_id: str) -> Any:
    """Staff of the post itself: who may author what a post writes."""
    return Staff.organization == organization_id


def _own(name: str) -> Reference:
    return Reference(name, _the_post, N_("организация поста"))


def _author(name: str) -> Reference:
    return Reference(name, _people_of_the_post, N_("автор — сотрудник поста"))


CONTRACTS: dict[type[SyncModel], Contract] = {
    Region: CENTRAL_ONLY,
    Organization: CENTRAL_ONLY,
    Specialty: CENTRAL_ONLY,
    Staff: CENTRAL_ONLY,
    StaffCredential: CENTRAL_ONLY,
    ScheduleTemplate: CENTRAL_ONLY,
    Slot: CENTRAL_ONLY,
    Protocol: CENTRAL_ONLY,
    Diagnosis: CENTRAL_ONLY,
    Patient: Contract(
        created_by=BOTH,
        immutable=("organization",),
        references=(_own("organization"), Reference("representative")),
    ),
    Appeal: Contract(
        created_by=BOTH,
        # What the early-warning score proposed is kept as it was when the appeal was made.
        immutable=("patient", "post", "author", "proposed_form"),
        references=(
            Reference("patient"),
            _own("post"),
            _author("author"),
            Reference("consultant"),
            Reference("slot"),
        ),
        post_clock=("created_at", "consent_at"),
        # Its consultant must take its patient, its specialty fit the patient's age.
        check_new=check_booked_by_post,
    ),
    Exam: Contract(
        created_by=frozenset({Writer.POST}),
        immutable=("patient", "post"),
        references=(Reference("patient"), _own("post"), _author("author"), Reference("appeal")),
        post_clock=("taken_at",),
    ),
    Observation: Contract(
        created_by=frozenset({Writer.POST}),
        immutable=("exam",),
        references=(Reference("exam"),),
        post_clock=("taken_at",),
    ),
    Attachment: Contract(
        created_by=BOTH,
        immutable=("appeal", "exam", "kind", "sha256", "size"),
        references=(Reference("appeal"), Reference("exam"), _author("uploaded_by")),
        post_values={"kind": POST_ATTACHMENT_KINDS},
        post_clock=("created_at",),
    ),
    ChatMessage: Contract(
        created_by=BOTH,
        append_only=True,
        references=(Reference("appeal"), _author("author"), Reference("attachment")),
        post_clock=("sent_at",),
    ),
    CallLog: Contract(
        created_by=BOTH,
        append_only=True,
        references=(Reference("appeal"), _author("caller")),
        post_clock=("started_at", "ended_at"),
    ),
    Referral: Contract(
        created_by=BOTH,
        immutable=("patient", "post", "author"),
        references=(
            Reference("patient"),
            _own("post"),
            _author("author"),
            Reference("consultant"),
            Reference("source_appeal"),
        ),
        post_clock=("created_at",),
    ),
    SupportRequest: Contract(
        created_by=frozenset({Writer.POST}),
        immutable=("organization", "author"),
        references=(_own("organization"), _author("author")),
        post_clock=("created_at",),
    ),
    # «Журнал доступа»: the post's rows are its own chain; nobody edits or deletes a row.
    AccessEntry: Contract(
        created_by=BOTH,
        append_only=True,
        references=(_own("organization"), _author("staff")),
        # No post_clock: a row stamped by a kiosk whose clock ran ahead is still a link of its
        # chain, and refusing it would break the chain for good. Its HLC stamp is re-stamped by
        # the kiosk and bounded like every other; its own `at` says what the kiosk's clock said.
    ),
}
