"""Rows that belong to one post: the scope and its inverse, declared once by a path.

Most replicated rows are seen by exactly one post, the one a chain of foreign keys
leads to: an appeal names its post, a protocol its appeal, a diagnosis its protocol.
A model says which chain (`POST_PATH`) and gets both sides of the replication scope
from it — what a post may pull and write (`scope_for_post`) and, for a change, which
post pulls it (`post_pairs`) — so the two cannot drift apart model by model.
`tests/contract/test_scope_inverse.py` holds them to one answer.
"""

from __future__ import annotations

from typing import Any, ClassVar

from peewee import Expression, Field, ForeignKeyField

__all__ = ["OwnedByPost"]


class OwnedByPost:
    """Mixin for a `SyncModel` whose rows one post owns, reached through `POST_PATH`."""

    #: Field names from this model to the owning organisation: ("post",) on an appeal,
    #: ("appeal", "post") on a protocol, ("protocol", "appeal", "post") on a diagnosis.
    POST_PATH: ClassVar[tuple[str, ...]]
    _meta: ClassVar[Any]

    @classmethod
    def _path(cls) -> tuple[list[ForeignKeyField], Field]:
        """The foreign keys walked, and the owner field at the end of the path."""
        hops: list[ForeignKeyField] = []
        model: Any = cls
        *walk, owner = cls.POST_PATH
        for name in walk:
            field = model._meta.fields[name]
            hops.append(field)
            model = field.rel_model
        return hops, model._meta.fields[owner]

    @classmethod
    def scope_for_post(cls, organization_id: str) -> Expression:
        hops, owner = cls._path()
        if not hops:
            return owner == organization_id
        first, *rest = hops
        parent = first.rel_model
        owned = parent.select(parent.id)
        for field in rest:
            owned = owned.join(field.rel_model, on=(field == field.rel_model.id))
        return first.in_(owned.where(owner == organization_id))

    @classmethod
    def post_pairs(cls, ids: list[str]) -> Any:
        hops, owner = cls._path()
        model: Any = cls
        pairs = model.select(model.id, owner)
        for field in hops:
            pairs = pairs.join(field.rel_model, on=(field == field.rel_model.id))
        return pairs.where(model.id.in_(ids))
