"""Passwords at central: the policy for a new password, and temporary passwords that must be changed.

The policy: at least 10 characters, not a common or guessable password. Guessability is
zxcvbn's estimate (Dropbox's, with its list of the 30,000 most common passwords), told
also the user's own names and the Russian words it does not know (пароль, its
transliterations, the programme's and the roles' names).

A password an administrator set by «Сбросить пароль» is temporary: its hash is kept here,
and while the credential still has it, the user may do nothing but change it.
"""

from __future__ import annotations

from peewee import CharField, DateTimeField
from zxcvbn import zxcvbn

from domain.errors import ValidationError
from domain.models import Staff, StaffCredential
from i18n import N_
from sync.clock import utcnow
from sync.db import create_side_tables, database
from sync.model import BaseModel
from web.auth import hash_password, verify_password

__all__ = [
    "MIN_LENGTH",
    "check_new_password",
    "TemporaryPassword",
    "mark_temporary",
    "is_temporary",
    "change_password",
    "create_tables",
]

MIN_LENGTH = 10
#: zxcvbn's score (0–4) a password must reach: 3 is "safely unguessable: moderate protection
#: from offline slow-hash scenario" (argon2 is a slow hash).
MIN_SCORE = 3
_RUSSIAN_WORDS = [
    "пароль",
    "gfhjkm",
    "parol",
    "password",
    "faplink",
    "фап",
    "фельдшер",
    "консультант",
    "администратор",
    "доктор",
    "врач",
    "больница",
    "йцукен",
    "qwerty",
    "привет",
    "россия",
    "москва",
]


class TemporaryPassword(BaseModel):
    """The hash of a password an administrator set, until its owner replaces it."""

    staff_id = CharField(primary_key=True, max_length=36)
    password_hash = CharField(max_length=255)
    set_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "central_temporary_password"


def create_tables() -> None:
    create_side_tables([TemporaryPassword])  # several instances may start at once


def check_new_password(password: str, *, login: str = "", staff: Staff | None = None) -> None:
    """Refuse a password shorter than 10 characters, or one that is common or easy to guess."""
    if len(password or "") < MIN_LENGTH:
        raise ValidationError(
            N_("Пароль — не короче %(count)s символов"), field="password", count=MIN_LENGTH
        )
    personal = [login] + ([staff.last_name, staff.first_name, staff.middle_name] if staff else [])
    words = [w.lower() for w in personal if w] + _RUSSIAN_WORDS
    lowered = password.lower()
    if any(len(w) >= 4 and w in lowered and len(lowered) - len(w) < 6 for w in words):
        raise ValidationError(
            N_("Пароль не должен строиться на логине, имени или слове «пароль»: придумайте другой"),
            field="password",
        )
    if zxcvbn(password[:100], user_inputs=words)["score"] < MIN_SCORE:
        raise ValidationError(
            N_(
                "Пароль слишком простой или распространённый: возьмите три-четыре несвязанных слова "
                "или длинную фразу"
            ),
            field="password",
        )


def mark_temporary(staff_id: str, password_hash: str) -> None:
    TemporaryPassword.insert(staff_id=staff_id, password_hash=password_hash, set_at=utcnow()).on_conflict(
        conflict_target=[TemporaryPassword.staff_id],
        update={TemporaryPassword.password_hash: password_hash, TemporaryPassword.set_at: utcnow()},
    ).execute()


def is_temporary(staff_id: str) -> bool:
    """Is the staff member's current password still the one an administrator set?"""
    row = TemporaryPassword.get_or_none(TemporaryPassword.staff_id == staff_id)
    if row is None:
        return False
    credential = StaffCredential.get_or_none(StaffCredential.staff == staff_id)
    return credential is not None and credential.password_hash == row.password_hash


def change_password(staff: Staff, current: str, new: str, repeated: str) -> None:
    """The user's own change: the current password, then a new one the policy accepts."""
    credential = StaffCredential.get_or_none(StaffCredential.staff == staff.id)
    if credential is None or not verify_password(credential.password_hash, current or ""):
        raise ValidationError(N_("Текущий пароль введён неверно"), field="current")
    if new != repeated:
        raise ValidationError(N_("Новый пароль и его повтор не совпадают"), field="repeat")
    if verify_password(credential.password_hash, new or ""):
        raise ValidationError(N_("Новый пароль должен отличаться от текущего"), field="password")
    check_new_password(new, login=credential.login, staff=staff)
    with database.atomic():
        credential.password_hash = hash_password(new)
        credential.save()
        TemporaryPassword.delete().where(TemporaryPassword.staff_id == staff.id).execute()
