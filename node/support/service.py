"""Support requests from the post: «Заказать звонок» and «Оставить сообщение», queued for sync."""

from __future__ import annotations

from flask import current_app

from domain.errors import ValidationError
from domain.models import Staff, SupportKind, SupportRequest
from domain.validators import normalize_phone
from i18n import N_

__all__ = ["request_help", "mine"]


def request_help(author: Staff, kind: str, text: str, phone: str = "") -> SupportRequest:
    """Store a callback request (needs a phone) or a feedback message (needs text)."""
    if kind not in SupportKind.ALL:
        raise ValidationError(N_("Неизвестный тип обращения в поддержку"), field="kind")
    phone = (phone or "").strip()
    if kind == SupportKind.CALLBACK:
        if not phone:
            raise ValidationError(N_("Укажите телефон, на который перезвонить"), field="phone")
        phone = normalize_phone(phone)
    elif phone:
        phone = normalize_phone(phone)
    if not (text or "").strip():
        field = "comment" if kind == SupportKind.CALLBACK else "text"
        raise ValidationError(N_("Опишите, что случилось"), field=field)
    return SupportRequest.create(
        kind=kind,
        author=author,
        organization=current_app.extensions["identity"].organization_id,
        phone=phone,
        text=text.strip(),
    )


def mine(author: Staff, limit: int = 20) -> list[SupportRequest]:
    return list(
        SupportRequest.live()
        .where(SupportRequest.author == author.id)
        .order_by(SupportRequest.created_at.desc())
        .limit(limit)
    )
