"""Replication contracts: what a post may write of each replicated model.

A post's kiosk stands in a village and its key can be copied, so central checks
every record a post pushes against its model's contract, never against what the
post claims. The engine knows only this shape; the domain declares its models' contracts
and hands them over through ``sync.registry``; the engine enforces them, in one place
(``sync.apply``), before anything a post sent is kept:

- who may create rows of the model (the post, central, or both);
- which fields a post may never change once the row exists, or that the row is
  append-only (chat messages: nobody edits them);
- which references must resolve *inside the writer's own scope* (an appeal's
  patient, a message's author…), and which values a post may give a field
  (a post makes files and photos, never the protocol's PDF);
- which times the post's clock sets, which may not run ahead of central's;
- a rule of the domain's own that a post's new row must pass (an appeal's consultant must
  take its patient), refused by the domain's registered errors.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

__all__ = ["Writer", "Reference", "Contract", "CENTRAL_ONLY", "POST_CLOCK_SKEW"]

#: How far ahead of central's clock a post's stamps and times may run: the kiosk's clock
#: check warns at far less, and the signed requests' window is 5 minutes.
POST_CLOCK_SKEW = timedelta(minutes=10)


class Writer(enum.Enum):
    """Who writes a record: a post's node, or central (consultants, administrators)."""

    POST = "post"
    CENTRAL = "central"


#: The rows a post may name in a reference, given the post's organisation id.
Within = Callable[[str], Any]


@dataclass(frozen=True)
class Reference:
    """A foreign key that must resolve inside the writer's scope when a post writes it.

    `within` narrows the rows the post may name (a message's author: a person of the post
    itself); by default, the referenced model's own scope for the post (what it pulls).
    """

    field: str
    within: Within | None = None
    label: str = ""  # what the reference is, for the refusal (Russian msgid)


@dataclass(frozen=True)
class Contract:
    """One model's replication contract, as central enforces it on posts' pushes."""

    created_by: frozenset[Writer]
    #: Fields a post may not change once the row exists (the appeal's patient, a file's hash).
    immutable: tuple[str, ...] = ()
    #: No field of a stored row changes, and it is never deleted, by a post.
    append_only: bool = False
    references: tuple[Reference, ...] = ()
    #: The only values a post may give these fields (others are central's to set).
    post_values: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: Times set by the post's clock: refused when ahead of central's by more than the skew.
    post_clock: tuple[str, ...] = ()
    #: The domain's check of a new row a post sends, given its merged field values.
    check_new: Callable[[dict[str, Any]], None] | None = None

    @property
    def post_writes(self) -> bool:
        """May a post write this model at all (create it, or change rows it may see)?"""
        return Writer.POST in self.created_by


#: Directories, schedules, protocols: central's alone.
CENTRAL_ONLY = Contract(created_by=frozenset({Writer.CENTRAL}))
