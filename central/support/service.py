"""Support requests: a consultant asks for a call or leaves a message; support staff handle them."""

from __future__ import annotations

from datetime import datetime

from peewee import JOIN

from domain.errors import LifecycleError, ValidationError
from domain.models import Organization, Staff, SupportKind, SupportRequest
from domain.validators import normalize_phone
from i18n import N_
from sync.clock import utcnow
from sync.db import database

__all__ = ["STATUS_FILTERS", "request_callback", "leave_feedback", "requests_list", "mark_done"]

DONE = "done"
#: The list's filters: what «Новые», «Выполненные» and «Все» show.
STATUS_FILTERS = ("new", DONE, "all")


def request_callback(author: Staff, phone: str, comment: str) -> SupportRequest:
    """«Заказать звонок»: the number to call back and what it is about."""
    number = normalize_phone(phone)
    if not (comment or "").strip():
        raise ValidationError(N_("Укажите в комментарии суть обращения"), field="text")
    with database.atomic():
        return SupportRequest.create(
            kind=SupportKind.CALLBACK,
            author=author,
            organization=author.organization_id,
            phone=number,
            text=comment.strip(),
        )


def leave_feedback(author: Staff, text: str) -> SupportRequest:
    """«Оставить сообщение»: remarks or suggestions about the service."""
    if not (text or "").strip():
        raise ValidationError(N_("Напишите сообщение: замечание или предложение"), field="text")
    with database.atomic():
        return SupportRequest.create(
            kind=SupportKind.FEEDBACK, author=author, organization=author.organization_id, text=text.strip()
        )


def requests_list(status: str) -> list[SupportRequest]:
    """Requests from posts (arrived by sync) and from consultants, oldest new ones first."""
    query = (
        SupportRequest.select(SupportRequest, Staff, Organization)
        .join(Staff, JOIN.LEFT_OUTER, on=(SupportRequest.author == Staff.id))
        .switch(SupportRequest)
        .join(Organization, JOIN.LEFT_OUTER, on=(SupportRequest.organization == Organization.id))
        .where(SupportRequest.deleted == False)  # noqa: E712
    )
    if status == DONE:
        return list(query.where(SupportRequest.status == DONE).order_by(SupportRequest.handled_at.desc()))
    if status == "all":
        return list(query.order_by(SupportRequest.created_at.desc()))
    return list(query.where(SupportRequest.status != DONE).order_by(SupportRequest.created_at))


def mark_done(request_id: str, staff: Staff, now: datetime | None = None) -> SupportRequest:
    """«Отметить выполненным»."""
    with database.atomic():
        item = SupportRequest.get_or_none(
            (SupportRequest.id == request_id) & (SupportRequest.deleted == False)  # noqa: E712
        )
        if item is None:
            raise ValidationError(N_("Обращение в поддержку не найдено"), field="id")
        if item.status == DONE:
            raise LifecycleError(N_("Это обращение уже отмечено выполненным"))
        item.status = DONE
        item.handled_by = staff
        item.handled_at = now or utcnow()
        item.save()
        return item
