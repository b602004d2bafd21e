"""Referrals a consultant issued, as «Маршрутизация» stores them, for the «Направления» tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from domain.models import Appeal, Referral, Specialty, Staff


def issue(
    appeal: Appeal,
    author: str,
    data: Any,
    *,
    justification: str,
    created_at: datetime,
    valid_until: date | None = None,
    status: str = "active",
    specialty: str = "Неврология",
) -> Referral:
    return Referral.create(
        patient=appeal.patient_id,
        post=appeal.post_id,
        author=Staff.get_by_id(data.consultants[author]),
        specialty=Specialty.get(Specialty.name == specialty),
        valid_until=valid_until,
        justification=justification,
        source_appeal=appeal,
        status=status,
        created_at=created_at,
    )


def a_mix(appeal: Appeal, data: Any, today: date, now: datetime) -> dict[str, Referral]:
    """One of each: valid for a while, indefinite, expired, used, cancelled; and another doctor's."""
    made = {
        "valid": issue(
            appeal,
            "ivanova",
            data,
            justification="Контроль ЭКГ",
            created_at=now - timedelta(days=1),
            valid_until=today + timedelta(days=30),
        ),
        "indefinite": issue(
            appeal, "ivanova", data, justification="Наблюдение невролога", created_at=now - timedelta(days=2)
        ),
        "expired": issue(
            appeal,
            "ivanova",
            data,
            justification="Старое направление",
            created_at=now - timedelta(days=40),
            valid_until=today - timedelta(days=10),
        ),
        "used": issue(
            appeal,
            "ivanova",
            data,
            justification="Уже записан",
            created_at=now - timedelta(days=3),
            status="used",
        ),
        "cancelled": issue(
            appeal,
            "ivanova",
            data,
            justification="Отменено врачом",
            created_at=now - timedelta(days=4),
            status="cancelled",
        ),
        "others": issue(
            appeal, "smirnov", data, justification="Направление Смирнова", created_at=now - timedelta(days=1)
        ),
    }
    return made
