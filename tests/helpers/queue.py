"""Appeals as central holds them, made straight in its database for the queue tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.models import Appeal, AppealStatus, Organization, OrgKind, Patient, Region, Specialty, Staff


def staff(data: Any, login: str) -> Staff:
    return Staff.get_by_id(data.consultants[login])


def feldsher(data: Any, post: int = 0) -> Staff:
    return Staff.get(Staff.organization == data.posts[post][0])


def other_region_post() -> Organization:
    """A post of another region: its appeals to a specialty are not the centre's."""
    region = Region.create(name="Псковская область")
    return Organization.create(name="ФАП д. Дальнее", kind=OrgKind.POST, region=region)


def appeal(
    data: Any,
    *,
    due_at: datetime,
    specialty: str = "Кардиология",
    consultant: Staff | None = None,
    taken_by: Staff | None = None,
    status: str = AppealStatus.NEW,
    closed_at: datetime | None = None,
    form: str = "urgent",
    post: Organization | None = None,
    author: Staff | None = None,
    patient: str = "Кузьмин Пётр Васильевич@1",
) -> Appeal:
    """An appeal in the given state (central's decisions included), as the sync would have stored it."""
    post_id = post.id if post is not None else data.posts[0][0]
    return Appeal.create(
        patient=Patient.get_by_id(data.patients[patient]),
        post=post_id,
        author=author or feldsher(data),
        specialty=Specialty.get(Specialty.name == specialty),
        consultant=consultant,
        form_of_care=form,
        question="Одышка при нагрузке: нужна ли госпитализация?",
        consent_by="patient",
        created_at=due_at - timedelta(hours=24),
        due_at=due_at,
        status=status,
        taken_by=taken_by,
        taken_at=due_at - timedelta(hours=1) if taken_by else None,
        closed_at=closed_at,
    )


def bulk_appeals(data: Any, count: int, seed: int = 7) -> None:
    """`count` appeals of the centre's history in one transaction (insert_many, not one by one):
    mostly closed, some in work, some new, over every specialty, a third named to a consultant."""
    import random

    from domain.models import Specialty
    from sync.db import replica
    from sync.model import reserve_seqs

    rng = random.Random(seed)
    consultants = list(Staff.select().where(Staff.specialty.is_null(False)))
    specialties = [s.id for s in Specialty.select()]
    by_specialty = {s: [c.id for c in consultants if c.specialty_id == s] for s in specialties}
    patients = list(data.patients.values())
    posts = [post_id for post_id, _ in data.posts]
    authors = {post_id: feldsher(data, n).id for n, post_id in enumerate(posts)}
    me = replica()
    start = datetime(2024, 1, 1)
    rows = []
    for seq in reserve_seqs(count):
        specialty = rng.choice(specialties)
        doctors = by_specialty[specialty] or [consultants[0].id]
        created = start + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        roll = rng.random()
        status = (
            AppealStatus.CLOSED if roll < 0.9 else AppealStatus.NEW if roll < 0.97 else AppealStatus.IN_WORK
        )
        taker = rng.choice(doctors) if status != AppealStatus.NEW else None
        post = rng.choice(posts)
        rows.append(
            {
                "origin": me.id,
                "changed_by": me.id,
                "hlc": me.clock.now(),
                "seq": seq,
                "patient": rng.choice(patients),
                "post": post,
                "author": authors[post],
                "specialty": specialty,
                "consultant": rng.choice(doctors) if rng.random() < 0.3 else None,
                "question": "Контроль после выписки",
                "consent_by": "patient",
                "created_at": created,
                "due_at": created + timedelta(hours=24),
                "status": status,
                "taken_by": taker,
                "taken_at": created + timedelta(hours=2) if taker else None,
                "closed_at": created + timedelta(hours=5) if status == AppealStatus.CLOSED else None,
            }
        )
    with Appeal._meta.database.atomic():
        for start_at in range(0, len(rows), 500):
            Appeal.insert_many(rows[start_at : start_at + 500]).execute()
