"""Which appeals a consultant may see at central, as conditions on Appeal.

Each way of seeing one is a branch of its own: a query per branch walks one
index (see `sync.models.appeal_queries.QUEUE_INDEXES`), where their OR would
make the database read and sort everything any of them matches.
"""

from __future__ import annotations

from functools import reduce

from peewee import Expression

from domain.models import Appeal, Organization, Role, Staff

__all__ = ["visibility_branches", "visible_to"]


def visibility_branches(staff: Staff) -> list[Expression]:
    """The ways `staff` sees appeals, each a condition on Appeal (they may overlap).

    An admin sees every live appeal. A consultant sees those addressed to them, taken by
    them, booked by them («Записать пациента»: the appeal shows «у вас и у другого врача»),
    and those to their specialty with no one named from a post of their centre's region.
    """
    live = Appeal.deleted == False  # noqa: E712
    if staff.role == Role.ADMIN:
        return [live]
    branches = [
        live & (Appeal.consultant == staff.id),
        live & (Appeal.taken_by == staff.id),
        live & (Appeal.author == staff.id),
    ]
    if staff.specialty_id:
        region_posts = Organization.select(Organization.id).where(
            Organization.region == staff.organization.region_id
        )
        branches.append(
            live
            & Appeal.consultant.is_null()
            & (Appeal.specialty == staff.specialty_id)
            & Appeal.post.in_(region_posts)
        )
    return branches


def visible_to(staff: Staff) -> Expression:
    """All of `visibility_branches` in one condition (for one appeal, or a few by id)."""
    return reduce(lambda a, b: a | b, visibility_branches(staff))
