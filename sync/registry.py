"""What the engine replicates, as the domain declares it: filled once at the domain's import.

The engine never imports the package that owns the replicated models (the way morango's
engine never imports the apps that register their syncable models): that package hands
the engine one `Replication` through `register`, and the engine reads it with
`replication()` whenever it applies, collects or migrates. An engine used before anything
was registered fails loudly (`RegistryError`), never silently with nothing to sync.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .contract import CENTRAL_ONLY, Contract

if TYPE_CHECKING:
    from peewee import Database, Expression, Field
    from playhouse.migrate import SchemaMigrator

    from .model import SyncModel

__all__ = ["Blobs", "ExpressLane", "Migration", "Replication", "RegistryError", "register", "replication"]


class RegistryError(RuntimeError):
    """The engine was used before (or with something else than) the domain's registration.

    A programming error, not a user's: deliberately not a SyncError, so that no page or
    worker that shows sync errors to a user swallows it.
    """


@dataclass(frozen=True)
class Migration:
    """One idempotent schema step, recorded by its id once applied (see `sync.migrations`)."""

    id: str
    apply: Callable[[Database, SchemaMigrator], None]


@dataclass(frozen=True)
class Blobs:
    """The model whose rows name content-addressed files (by SHA-256 and size)."""

    model: type[SyncModel]
    sha256: str = "sha256"
    size: str = "size"

    @property
    def sha256_field(self) -> Field:
        return self.model._meta.fields[self.sha256]

    @property
    def size_field(self) -> Field:
        return self.model._meta.fields[self.size]


@dataclass(frozen=True)
class ExpressLane:
    """Rows a post sends before everything else (with the rows of its own they reference)."""

    model: type[SyncModel]
    #: Which rows of `model` jump the queue (an emergency appeal still new).
    urgent: Callable[[], Expression]


@dataclass(frozen=True)
class Replication:
    """Everything the engine needs to know of the domain it replicates."""

    #: Every replicated model, parents first (the order a peer applies them in).
    models: tuple[type[SyncModel], ...]
    #: Each model's contract with the posts; a model missing here is central's alone.
    contracts: Mapping[type[SyncModel], Contract]
    blobs: Blobs
    #: The replicated schema's migrations, oldest first; their count is the schema version.
    migrations: tuple[Migration, ...]
    #: Exception types by which the domain's rules refuse a record (a bad SNILS, a consultant
    #: who does not take the patient): the engine refuses such a record, never fails on it.
    refusals: tuple[type[Exception], ...]
    express: ExpressLane | None = None
    #: Indexes central alone keeps (the consultants' paged lists: a post's lists are short),
    #: made by central's side migration `sync.central.0003_queue_indexes`.
    central_indexes: Callable[[Database], None] | None = None
    by_table: dict[str, type[SyncModel]] = field(init=False, repr=False)
    order: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.models:
            raise RegistryError("a replication needs at least one model")
        object.__setattr__(self, "by_table", {m._meta.table_name: m for m in self.models})
        object.__setattr__(self, "order", {m._meta.table_name: i for i, m in enumerate(self.models)})

    def contract_of(self, model: type[SyncModel]) -> Contract:
        return self.contracts.get(model, CENTRAL_ONLY)

    @property
    def schema_version(self) -> int:
        """The replicated schema's version, compared by node and central at `hello`."""
        return len(self.migrations)


_registered: Replication | None = None


def register(declared: Replication) -> None:
    """Hand the engine the domain's replication (once; registering the same one again is a no-op)."""
    global _registered
    if _registered is not None and _registered is not declared:
        raise RegistryError("another replication is registered already: the engine serves one domain")
    _registered = declared


def replication() -> Replication:
    """The registered replication; RegistryError if the domain was never imported."""
    if _registered is None:
        raise RegistryError(
            "no replicated models are registered: import the domain package (`import domain`) "
            "before the sync engine applies, collects or migrates anything"
        )
    return _registered


def registered() -> Any:
    """The registered replication or None (for code that may run before the domain is known)."""
    return _registered
