"""What the domain hands the sync engine: its replicated models and how to replicate them."""

from __future__ import annotations

from peewee import Expression

from sync.registry import Blobs, ExpressLane, Replication

from .contracts import CONTRACTS
from .errors import DomainError
from .migrations import REPLICATED_MIGRATIONS
from .models import REPLICATED_MODELS, Appeal, AppealStatus, Attachment, FormOfCare
from .models.appeal_queries import create_queue_indexes

__all__ = ["REPLICATION"]


def _emergency_still_new() -> Expression:
    """An emergency appeal not yet taken: it goes before everything else a post sends."""
    return (Appeal.form_of_care == FormOfCare.EMERGENCY) & (Appeal.status == AppealStatus.NEW)


REPLICATION = Replication(
    models=tuple(REPLICATED_MODELS),
    contracts=CONTRACTS,
    # Attachments name the files of the content-addressed blob store.
    blobs=Blobs(Attachment, sha256="sha256", size="size"),
    migrations=tuple(REPLICATED_MIGRATIONS),
    refusals=(DomainError,),
    express=ExpressLane(Appeal, _emergency_still_new),
    central_indexes=create_queue_indexes,
)
