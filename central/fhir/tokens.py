"""API tokens for a region's МИС: issued by an administrator, stored hashed, revocable.

A МИС sends ``Authorization: Bearer <token>``. The token is shown once when it is
issued (``faplink central fhir-token issue``); central keeps only its SHA-256, the
region whose posts' patients it may read, who issued it and when it was last used.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from peewee import CharField, DateTimeField

from domain.errors import ValidationError
from domain.models import Region
from i18n import N_
from sync.clock import utcnow
from sync.db import create_side_tables
from sync.model import BaseModel

__all__ = ["FhirToken", "ensure_tables", "issue", "revoke", "verify", "TOKEN_PREFIX"]

TOKEN_PREFIX = "fhir_"
#: How often `last_used_at` is written: once a minute is enough to see that a МИС is alive.
_TOUCH_SECONDS = 60


class FhirToken(BaseModel):
    """A МИС's read-only access to the FHIR API for one region's patients."""

    id = CharField(primary_key=True, max_length=16)  # public: named in lists and on revocation
    token_hash = CharField(max_length=64, unique=True)  # sha256 of the whole token
    name = CharField(max_length=200)  # which МИС
    region_id = CharField(max_length=36, index=True)
    created_by = CharField(max_length=64, default="")
    created_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)
    last_used_at = DateTimeField(null=True)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def ensure_tables() -> None:
    create_side_tables([FhirToken])


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(name: str, region_id: str, created_by: str = "") -> tuple[FhirToken, str]:
    """A new token for a МИС of the region: the record and the token itself (shown once)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(N_("Укажите, для какой МИС выпускается токен"), field="name")
    if Region.get_or_none((Region.id == region_id) & (Region.deleted == False)) is None:  # noqa: E712
        raise ValidationError(N_("Регион %(region)s не найден"), field="region", region=region_id)
    token_id = secrets.token_hex(4)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    row = FhirToken.create(
        id=token_id, token_hash=_hash(token), name=name[:200], region_id=region_id, created_by=created_by
    )
    return row, token


def revoke(token_id: str, now: datetime | None = None) -> FhirToken:
    row = FhirToken.get_or_none(FhirToken.id == (token_id or "").strip())
    if row is None:
        raise ValidationError(N_("Токен %(token)s не найден"), field="token", token=token_id)
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        row.save()
    return row


def verify(token: str, now: datetime | None = None) -> FhirToken | None:
    """The active token with this value, else None (revoked, unknown or malformed)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = FhirToken.get_or_none(FhirToken.token_hash == _hash(token))
    # The lookup is by a hash of the whole token: comparing again costs nothing and
    # keeps the check independent of how the database compares strings.
    if row is None or not secrets.compare_digest(row.token_hash, _hash(token)) or not row.active:
        return None
    now = now or utcnow()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > _TOUCH_SECONDS:
        FhirToken.update(last_used_at=now).where(FhirToken.id == row.id).execute()
    return row
