"""Central's side-only tables for telephony: each centre's gateway, each consultant's own phone.

Not replicated: a SIP password and a consultant's private number have no
business on the posts. Created by the telephony feature itself
(`ensure_tables`, when its blueprint is registered), like the fleet reports.
"""

from __future__ import annotations

import re
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from peewee import CharField, DateTimeField, IntegerField

from domain.errors import ValidationError
from domain.validators import normalize_phone
from i18n import N_
from sync.clock import utcnow
from sync.db import create_side_tables, database
from sync.model import BaseModel

__all__ = [
    "TelephonySettings",
    "ConsultantPhone",
    "ensure_tables",
    "KINDS",
    "TRANSPORTS",
    "settings_for",
    "save_settings",
    "seal_password",
    "open_password",
    "delete_settings",
    "consultant_phone",
    "save_consultant_phone",
    "normalize_consultant_phone",
]

#: The engines a centre may use; each has its gateway in `service.gateway_for`.
KINDS = {"sip": N_("SIP-сервер (звонок через SIP-транк или АТС центра)")}
TRANSPORTS = {"udp": "UDP"}

RING_MIN, RING_MAX, RING_DEFAULT = 10, 60, 30


class TelephonySettings(BaseModel):
    """A centre's telephony gateway: where to send calls, as whom, and which number patients see."""

    centre_id = CharField(primary_key=True, max_length=64)
    kind = CharField(max_length=16, default="sip")
    host = CharField(max_length=255)
    port = IntegerField(default=5060)
    transport = CharField(max_length=8, default="udp")
    username = CharField(max_length=128, default="")
    # Sealed with the data directory's key (`seal_password`): digest auth needs it in
    # clear, but a copy of the database alone must not give it away; never shown.
    password = CharField(max_length=255, default="")  # a sealed password of up to 100 characters fits
    caller_id = CharField(max_length=16)  # E.164: the number patients see
    ring_timeout = IntegerField(default=RING_DEFAULT)  # seconds each phone may ring
    updated_at = DateTimeField(default=utcnow)
    updated_by = CharField(max_length=64, default="")


class ConsultantPhone(BaseModel):
    """The consultant's own phone, rung first; never shown to patients, never synced to posts."""

    staff_id = CharField(primary_key=True, max_length=64)
    phone = CharField(max_length=255)
    updated_at = DateTimeField(default=utcnow)


def ensure_tables() -> None:
    """Create the tables if missing (several central instances may start at once)."""
    create_side_tables([TelephonySettings, ConsultantPhone])


def settings_for(centre_id: str | None) -> TelephonySettings | None:
    if not centre_id:
        return None
    return TelephonySettings.get_or_none(TelephonySettings.centre_id == centre_id)


_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


def _text(form: Any, name: str) -> str:
    return str(form.get(name, "") or "").strip()


def _number(form: Any, name: str, low: int, high: int, message: str) -> int:
    text = _text(form, name)
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValidationError(message, field=name, low=low, high=high)
    return int(text)


_SEALED = "fernet:"
#: Sealed, this fits the column's 255 characters.
PASSWORD_MAX = 100


def seal_password(key: bytes, password: str) -> str:
    return _SEALED + Fernet(key).encrypt(password.encode()).decode() if password else ""


def open_password(key: bytes, stored: str) -> str:
    """The password in clear; one stored before sealing existed is returned as it is."""
    if not stored.startswith(_SEALED):
        return stored
    try:
        return Fernet(key).decrypt(stored.removeprefix(_SEALED).encode()).decode()
    except InvalidToken as exc:
        raise ValidationError(
            N_("Пароль SIP-сервера не расшифровать ключом этого центра: введите его заново в «Телефонии»")
        ) from exc


def save_settings(centre_id: str, form: Any, admin_id: str, key: bytes) -> TelephonySettings:
    """Store a centre's gateway from the «Телефония» form; a blank password keeps the stored one.
    The password is sealed with `key` (`web.settings.sealing_key_for`)."""
    kind = _text(form, "kind") or "sip"
    if kind not in KINDS:
        raise ValidationError(N_("Неизвестный вид телефонии: %(kind)s"), field="kind", kind=kind)
    host = _text(form, "host")
    if not _HOST.match(host):
        raise ValidationError(
            N_("Укажите адрес SIP-сервера: имя (sip.example.ru) или IP-адрес, без «sip:» и порта"),
            field="host",
        )
    port = _number(form, "port", 1, 65535, N_("Порт SIP-сервера — число от %(low)s до %(high)s"))
    transport = _text(form, "transport") or "udp"
    if transport not in TRANSPORTS:
        raise ValidationError(N_("Поддерживается только транспорт UDP"), field="transport")
    username = _text(form, "username")
    password = str(form.get("password", "") or "")
    if len(password) > PASSWORD_MAX:
        raise ValidationError(
            N_("Пароль SIP-сервера — не длиннее %(max)s символов"), field="password", max=PASSWORD_MAX
        )
    caller_id = normalize_phone(_text(form, "caller_id"), extension=False)
    ring = _number(
        form, "ring_timeout", RING_MIN, RING_MAX, N_("Время вызова — от %(low)s до %(high)s секунд")
    )
    values: dict[str, Any] = {
        "kind": kind,
        "host": host,
        "port": port,
        "transport": transport,
        "username": username,
        "caller_id": caller_id,
        "ring_timeout": ring,
        "updated_at": utcnow(),
        "updated_by": admin_id,
    }
    with database.atomic():
        current = settings_for(centre_id)
        if password or not username:
            values["password"] = seal_password(key, password) if username else ""
        if current is None:
            TelephonySettings.create(centre_id=centre_id, **values)
        else:
            TelephonySettings.update(values).where(TelephonySettings.centre_id == centre_id).execute()
    saved = settings_for(centre_id)
    assert saved is not None
    return saved


def delete_settings(centre_id: str) -> None:
    TelephonySettings.delete().where(TelephonySettings.centre_id == centre_id).execute()


_SIP_ADDRESS = re.compile(r"^sip:[^@\s<>]+@[A-Za-z0-9.-]+(:\d{1,5})?$")


def normalize_consultant_phone(value: str) -> str:
    """A Russian number in E.164, or a SIP address (sip:101@pbx.example.ru) of a desk phone or softphone."""
    text = (value or "").strip()
    if text.lower().startswith("sip:"):
        text = "sip:" + text[4:]
        if not _SIP_ADDRESS.match(text):
            raise ValidationError(
                N_("SIP-адрес телефона записывается так: sip:101@pbx.example.ru или sip:101@10.0.0.5:5060"),
                field="phone",
            )
        return text
    return normalize_phone(text, extension=False)


def consultant_phone(staff_id: str) -> str:
    row = ConsultantPhone.get_or_none(ConsultantPhone.staff_id == staff_id)
    return row.phone if row is not None else ""


def save_consultant_phone(staff_id: str, value: str) -> str:
    """Keep (or, if blank, forget) the consultant's own phone; returns what is stored."""
    if not (value or "").strip():
        ConsultantPhone.delete().where(ConsultantPhone.staff_id == staff_id).execute()
        return ""
    phone = normalize_consultant_phone(value)
    with database.atomic():
        ConsultantPhone.insert(staff_id=staff_id, phone=phone, updated_at=utcnow()).on_conflict(
            conflict_target=[ConsultantPhone.staff_id],
            update={ConsultantPhone.phone: phone, ConsultantPhone.updated_at: utcnow()},
        ).execute()
    return phone
