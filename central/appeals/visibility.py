"""Which appeals a consultant may see at central, as conditions on Appeal.

Each way of seeing one is a branch of its own: a query per branch walks one
index (see `sync.models.appeal_queries.QUEUE_INDEXES`), where their OR would
make the database read and sort everything any of them matches.
"""

from __future__ import annotations

from functools import reduce

from peewee import Expression

from domain.models import Appeal, Organization, Role, Staff
from sync.statements import Bind, as_is

__all__ = ["visibility_branches", "visible_to"]

#: The consultant's centre, to read its region inside a statement (made once: each of an
#: alias's fields is a class peewee builds when first asked for it).
_CENTRE = Organization.alias("centre")
_CENTRE_REGION = _CENTRE.select(_CENTRE.region)


def visibility_branches(staff: Staff, bind: Bind = as_is) -> list[Expression]:
    """The ways `staff` sees appeals, each a condition on Appeal (they may overlap).

    An admin sees every live appeal. A consultant sees those addressed to them, taken by
    them, booked by them («Записать пациента»: the appeal shows «у вас и у другого врача»),
    and those to their specialty with no one named from a post of their centre's region.
    `bind` gives the conditions who they are (see `statements`).
    """
    live = Appeal.deleted == False  # noqa: E712
    if staff.role == Role.ADMIN:
        return [live]
    me = bind("staff", staff.id)
    branches = [
        live & (Appeal.consultant == me),
        live & (Appeal.taken_by == me),
        live & (Appeal.author == me),
    ]
    if staff.specialty_id:
        # The centre's region read in the same statement (not a query of its own first).
        region = _CENTRE_REGION.where(_CENTRE.id == bind("centre", staff.organization_id))
        region_posts = Organization.select(Organization.id).where(Organization.region == region)
        branches.append(
            live
            & Appeal.consultant.is_null()
            & (Appeal.specialty == bind("specialty", staff.specialty_id))
            & Appeal.post.in_(region_posts)
        )
    return branches


def visible_to(staff: Staff) -> Expression:
    """All of `visibility_branches` in one condition (for one appeal, or a few by id)."""
    return reduce(lambda a, b: a | b, visibility_branches(staff))
