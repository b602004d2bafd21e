"""Users and roles: staff profiles with their logins, password reset, deactivation.

A user is never removed: deactivating (`Staff.active = False`) stops their
logins at central and, once synced, at their post; their records keep their
author. Passwords are stored as argon2 hashes only; a reset makes a temporary
password that the administrator sees once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from central.auth.passwords import MIN_LENGTH, check_new_password, mark_temporary
from central.auth.sessions import end_sessions_of
from central.profile.zones import check_zone
from domain.errors import ValidationError
from domain.models import Organization, OrgKind, Role, Specialty, Staff, StaffCredential
from i18n import N_
from sync.db import database
from web.auth import hash_password

from .labels import VISIBILITY_CHOICES

__all__ = ["UserRow", "users", "save_user", "reset_password", "set_active", "credential_of", "MIN_PASSWORD"]

MIN_PASSWORD = MIN_LENGTH
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
# No look-alike letters and digits (l/1, o/0): the password is read out over the phone.
_TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@dataclass
class UserRow:
    staff: Staff
    login: str


def credential_of(staff: Staff) -> StaffCredential | None:
    return StaffCredential.get_or_none(
        (StaffCredential.staff == staff.id) & (StaffCredential.deleted == False)  # noqa: E712
    )


def users(role: str | None = None) -> list[UserRow]:
    query = Staff.live().order_by(Staff.last_name, Staff.first_name)
    if role in Role.ALL:
        query = query.where(Staff.role == role)
    logins = {c.staff_id: c.login for c in StaffCredential.live()}
    return [UserRow(s, logins.get(s.id, "")) for s in query]


def _text(form: Any, name: str) -> str:
    return str(form.get(name, "") or "").strip()


def _login(form: Any, credential: StaffCredential | None) -> str:
    login = _text(form, "login").lower()
    if not _LOGIN.match(login):
        raise ValidationError(
            N_("Логин — от 3 до 64 латинских строчных букв, цифр, точек, дефисов или подчёркиваний"),
            field="login",
        )
    # The unique index covers tombstones too: a login is never reused.
    taken = StaffCredential.select().where(StaffCredential.login == login)
    if credential is not None:
        taken = taken.where(StaffCredential.id != credential.id)
    if taken.exists():
        raise ValidationError(N_("Логин «%(login)s» уже занят: выберите другой"), field="login", login=login)
    return login


def _profile(form: Any, editing: Staff | None, me: Staff) -> dict[str, Any]:
    """The profile fields, checked against the role's rules."""
    last, first = _text(form, "last_name"), _text(form, "first_name")
    if not last or not first:
        raise ValidationError(N_("Укажите фамилию и имя сотрудника"), field="last_name")
    role = _text(form, "role")
    if role not in Role.ALL:
        raise ValidationError(N_("Выберите роль сотрудника"), field="role")
    if editing is not None and editing.id == me.id and role != Role.ADMIN:
        raise ValidationError(N_("Нельзя снять с себя роль администратора"), field="role")
    organization = Organization.get_or_none(
        (Organization.id == _text(form, "organization")) & (Organization.deleted == False)  # noqa: E712
    )
    if organization is None:
        raise ValidationError(N_("Выберите организацию сотрудника"), field="organization")
    specialty = Specialty.get_or_none(
        (Specialty.id == _text(form, "specialty")) & (Specialty.deleted == False)  # noqa: E712
    )
    if role == Role.CONSULTANT:
        if specialty is None:
            raise ValidationError(N_("Укажите специальность консультанта"), field="specialty")
        if organization.kind != OrgKind.CENTRE:
            raise ValidationError(
                N_("Консультант работает в консультативном центре: выберите центр"), field="organization"
            )
    elif role == Role.FELDSHER and organization.kind != OrgKind.POST:
        raise ValidationError(N_("Фельдшер работает на ФАПе: выберите пост"), field="organization")
    visibility = _text(form, "visibility") or "region"
    if visibility not in VISIBILITY_CHOICES:
        raise ValidationError(N_("Выберите, кто может записываться к врачу"), field="visibility")
    return {
        "last_name": last,
        "first_name": first,
        "middle_name": _text(form, "middle_name"),
        "position": _text(form, "position"),
        "role": role,
        "organization": organization,
        "specialty": specialty if role == Role.CONSULTANT else None,
        "timezone": check_zone(_text(form, "timezone") or organization.region.timezone),
        "visibility": visibility,
    }


def save_user(editing: Staff | None, form: Any, me: Staff) -> Staff:
    """Add a user with a login and password, or change a user's profile and login."""
    fields = _profile(form, editing, me)
    credential = credential_of(editing) if editing is not None else None
    login = _login(form, credential)
    password = str(form.get("password", "") or "")
    if editing is None or credential is None:
        check_new_password(password, login=login)
    with database.atomic():
        if editing is None:
            staff = Staff.create(**fields)
        else:
            staff = editing
            for key, value in fields.items():
                setattr(staff, key, value)
            staff.save()
        if credential is None:
            StaffCredential.create(staff=staff, login=login, password_hash=hash_password(password))
        elif credential.login != login:
            credential.login = login
            credential.save()
    return staff


def temporary_password() -> str:
    return "".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(10))


def reset_password(staff: Staff) -> str:
    """«Сбросить пароль»: a new temporary password, returned once and stored only as a hash."""
    password = temporary_password()
    with database.atomic():
        credential = credential_of(staff)
        if credential is None:
            raise ValidationError(
                N_("У сотрудника нет логина: задайте логин и пароль в карточке"), field="login"
            )
        credential.password_hash = hash_password(password)
        credential.save()
        # The user must change it at the next login, and whoever is logged in now is out.
        mark_temporary(staff.id, credential.password_hash)
        end_sessions_of(staff.id)
    return password


def set_active(staff: Staff, active: bool, me: Staff) -> None:
    """Deactivate (never delete) or reactivate a user."""
    if not active and staff.id == me.id:
        raise ValidationError(N_("Нельзя деактивировать собственную учётную запись"), field="active")
    with database.atomic():
        staff.active = active
        staff.save()
        if not active:
            end_sessions_of(staff.id)
