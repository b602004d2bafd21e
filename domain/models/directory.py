"""Directories owned by central: regions, organisations, specialties, staff."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime
from typing import Any

from peewee import JOIN, BooleanField, CharField, Expression, Field, ForeignKeyField, IntegerField, TextField

from i18n import N_
from sync.clock import local_date
from sync.model import SyncModel

from ..errors import ValidationError
from ..validators import PHONE_MAX_LENGTH
from .ownership import OwnedByPost

__all__ = [
    "region_centres",
    "readers_of_centre",
    "today_at",
    "Region",
    "Organization",
    "Specialty",
    "Staff",
    "StaffCredential",
    "Role",
    "OrgKind",
    "Visibility",
]


class OrgKind:
    POST = "post"  # ФАП
    CENTRE = "centre"  # консультативный центр
    ALL = (POST, CENTRE)


class Visibility:
    """Who may book a consultant (the manual's «варианты доступности для пациентов»)."""

    REGION = "region"  # all patients of the region's posts
    ORGANIZATION = "organization"  # patients of posts attached to the consultant's organisation
    REFERRED = "referred"  # patients the consultant referred (or named in a referral)
    ALL = (REGION, ORGANIZATION, REFERRED)


class Role:
    CONSULTANT = "consultant"
    FELDSHER = "feldsher"
    ADMIN = "admin"
    ENGINEER = "engineer"
    #: Reads «Журнал доступа» at central, and nothing else.
    AUDITOR = "auditor"
    ALL = (CONSULTANT, FELDSHER, ADMIN, ENGINEER, AUDITOR)


def _post_region(organization_id: str) -> Any:
    return Organization.select(Organization.region).where(Organization.id == organization_id)


def region_centres(organization_id: str) -> Any:
    """Ids of the consultation centres in the post's region: all a post may see of others."""
    return Organization.select(Organization.id).where(
        (Organization.kind == OrgKind.CENTRE) & Organization.region.in_(_post_region(organization_id))
    )


def readers_of_centre(query: Any, organization: Field) -> tuple[Any, Any]:
    """`query` joined to the organisations that see the centre `organization` names: every one
    of its region (`region_centres` inverted; nothing where it names a post). Returns the
    query and the readers' alias, whose id the caller selects."""
    centre, reader = Organization.alias(), Organization.alias()
    joined = (
        query.join(centre, on=(organization == centre.id))
        .join(reader, on=(reader.region == centre.region))
        .where(centre.kind == OrgKind.CENTRE)
    )
    return joined, reader


def today_at(organization_id: str | None, now: datetime | None = None) -> date:
    """Today's date at an organisation (a post's "today"), in its region's time zone.

    Ages and "not in the future" checks use it on both sides, so that central near
    midnight UTC agrees with a post eight hours east. Unknown organisation: Moscow.
    """
    return local_date(_zone_of(organization_id) if organization_id else "", now)


#: An organisation's zone is looked up at most this often: a pushed batch validates
#: thousands of one post's patients, and a region changes its zone about never.
_ZONE_TTL_S = 5.0
_zones: dict[str, tuple[float, str]] = {}
_zones_lock = threading.Lock()


def _zone_of(organization_id: str) -> str:
    now = time.monotonic()
    with _zones_lock:
        hit = _zones.get(organization_id)
        if hit is not None and now - hit[0] < _ZONE_TTL_S:
            return hit[1]
    zone = (
        Region.select(Region.timezone)
        .join(Organization, on=(Organization.region == Region.id))
        .where(Organization.id == organization_id)
        .scalar()
    )
    if zone is None:
        return ""  # not here (yet): not remembered, so it is looked up again once it arrives
    with _zones_lock:
        if len(_zones) > 10_000:
            _zones.clear()
        _zones[organization_id] = (now, str(zone))
    return str(zone)


class Region(SyncModel):
    name = CharField(max_length=200)
    timezone = CharField(max_length=64, default="Europe/Moscow")

    @classmethod
    def scope_for_post(cls, organization_id: str) -> Expression:
        return cls.id.in_(_post_region(organization_id))

    @classmethod
    def post_pairs(cls, ids: list[str]) -> Any:
        return (
            cls.select(cls.id, Organization.id)
            .join(Organization, on=(Organization.region == cls.id))
            .where(cls.id.in_(ids))
        )


class Organization(SyncModel):
    name = CharField(max_length=300)
    kind = CharField(max_length=16)
    region = ForeignKeyField(Region, backref="organizations")
    address = CharField(max_length=500, default="")
    phone = CharField(max_length=PHONE_MAX_LENGTH, default="")
    #: A centre's CA certificate (PEM): posts check signed protocols against it offline.
    ca_certificate = TextField(default="")
    #: «Головная организация»: the medical organisation a post (ФАП) is a unit of.
    parent = ForeignKeyField("self", null=True, backref="units")

    region_id: str
    parent_id: str | None

    def validate(self) -> None:
        if self.kind not in OrgKind.ALL:
            raise ValidationError(N_("Неизвестный тип организации"), field="kind")
        if self.parent_id is not None and self.parent_id == self.id:
            raise ValidationError(N_("Организация не может быть головной для самой себя"), field="parent")

    def attached_to(self, organization_id: str) -> bool:
        """Is this post attached to the medical organisation: the organisation itself or its unit."""
        return organization_id in (self.id, self.parent_id)

    @classmethod
    def scope_for_post(cls, organization_id: str) -> Expression:
        parent = cls.select(cls.parent).where(cls.id == organization_id)
        return (cls.id == organization_id) | cls.id.in_(region_centres(organization_id)) | cls.id.in_(parent)

    @classmethod
    def post_pairs(cls, ids: list[str]) -> Any:
        itself = cls.select(cls.id, cls.id).where(cls.id.in_(ids))
        centres, reader = readers_of_centre(cls.select(cls.id), cls.id)
        units = cls.alias()
        parents = cls.select(cls.id, units.id).join(units, on=(units.parent == cls.id)).where(cls.id.in_(ids))
        return itself | centres.select_extend(reader.id).where(cls.id.in_(ids)) | parents


class Specialty(SyncModel):
    name = CharField(max_length=200)
    code = CharField(max_length=32, default="")
    #: The patients' ages (full years) it accepts: from `age_from`, under `age_under`
    #: (Pediatrics: under 18; adult specialties: from 18). None: no bound.
    age_from = IntegerField(null=True)
    age_under = IntegerField(null=True)

    def validate(self) -> None:
        for name in ("age_from", "age_under"):
            value = getattr(self, name)
            if value is not None and not 0 <= int(value) <= 130:
                raise ValidationError(N_("Возраст указывается в полных годах, от 0 до 130"), field=name)
        if self.age_from is not None and self.age_under is not None and self.age_from >= self.age_under:
            raise ValidationError(
                N_("Возраст «с» должен быть меньше возраста «до»: например, с 0 до 18 лет"), field="age_under"
            )

    @classmethod
    def post_pairs(cls, ids: list[str]) -> Any:
        """Every organisation pulls every specialty."""
        return cls.select(cls.id, Organization.id).join(Organization, JOIN.CROSS).where(cls.id.in_(ids))


class Staff(SyncModel):
    """The public profile of a consultant, feldsher, administrator or engineer."""

    last_name = CharField(max_length=100)
    first_name = CharField(max_length=100)
    middle_name = CharField(max_length=100, default="")
    role = CharField(max_length=16)
    organization = ForeignKeyField(Organization, backref="staff")
    specialty = ForeignKeyField(Specialty, null=True, backref="staff")
    position = CharField(max_length=200, default="")
    timezone = CharField(max_length=64, default="Europe/Moscow")
    active = BooleanField(default=True)
    #: Who may book this consultant: region / organization / referred (see the manual).
    visibility = CharField(max_length=16, default=Visibility.REGION)

    organization_id: str
    specialty_id: str | None

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)

    @property
    def short_name(self) -> str:
        initials = "".join(f"{p[0]}." for p in (self.first_name, self.middle_name) if p)
        return f"{self.last_name} {initials}".strip()

    def validate(self) -> None:
        if self.role not in Role.ALL:
            raise ValidationError(N_("Неизвестная роль сотрудника"), field="role")
        if not (self.last_name or "").strip() or not (self.first_name or "").strip():
            raise ValidationError(N_("Укажите фамилию и имя сотрудника"), field="last_name")
        if self.visibility not in Visibility.ALL:
            raise ValidationError(N_("Выберите, кто может записываться к врачу"), field="visibility")

    @classmethod
    def scope_for_post(cls, organization_id: str) -> Expression:
        return (cls.organization == organization_id) | cls.organization.in_(region_centres(organization_id))

    @classmethod
    def post_pairs(cls, ids: list[str]) -> Any:
        own = cls.select(cls.id, cls.organization).where(cls.id.in_(ids))
        centres, reader = readers_of_centre(cls.select(cls.id), cls.organization)
        return own | centres.select_extend(reader.id).where(cls.id.in_(ids))


class StaffCredential(OwnedByPost, SyncModel):
    """Login and argon2 hash; a post receives only its own staff's, for offline login."""

    POST_PATH = ("staff", "organization")

    staff = ForeignKeyField(Staff, backref="credentials", unique=True)
    login = CharField(max_length=64, unique=True)
    password_hash = CharField(max_length=255)
