"""Russian labels (gettext msgids) of roles, organisation kinds and consultants' visibility."""

from __future__ import annotations

from domain.models import OrgKind, Role
from domain.models.directory import Visibility
from i18n import N_

__all__ = ["ROLE_LABELS", "KIND_LABELS", "VISIBILITY_LABELS", "VISIBILITY_CHOICES"]

ROLE_LABELS: dict[str, str] = {
    Role.CONSULTANT: N_("консультант"),
    Role.FELDSHER: N_("фельдшер"),
    Role.ADMIN: N_("администратор"),
    Role.ENGINEER: N_("инженер"),
    Role.AUDITOR: N_("аудитор"),
}

KIND_LABELS: dict[str, str] = {
    OrgKind.POST: N_("ФАП"),
    OrgKind.CENTRE: N_("Консультативный центр"),
}

#: Who may book a consultant (the manual's «варианты доступности для пациентов»).
VISIBILITY_LABELS: dict[str, str] = {
    Visibility.REGION: N_("Все пациенты региона"),
    Visibility.ORGANIZATION: N_("Только пациенты, прикреплённые к медицинской организации врача"),
    Visibility.REFERRED: N_("Только пациенты, которым врач выдал направление"),
}
VISIBILITY_CHOICES = tuple(VISIBILITY_LABELS)
