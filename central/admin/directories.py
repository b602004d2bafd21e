"""The directories an administrator keeps: regions, organisations (posts and centres), specialties.

They are replicated: a change reaches the posts of the region with their next
pull. Deleting leaves a tombstone, and is refused while something still uses
the row.
"""

from __future__ import annotations

from typing import Any

from central.profile.zones import check_zone
from domain.errors import ValidationError
from domain.models import Organization, OrgKind, Region, Specialty, Staff
from domain.validators import normalize_phone
from i18n import N_
from sync.db import database

__all__ = [
    "regions",
    "organizations",
    "specialties",
    "save_region",
    "save_organization",
    "save_specialty",
    "delete_region",
    "delete_organization",
    "delete_specialty",
]


def regions() -> list[Region]:
    return list(Region.live().order_by(Region.name))


def organizations() -> list[Organization]:
    return list(Organization.live().order_by(Organization.kind, Organization.name))


def specialties() -> list[Specialty]:
    return list(Specialty.live().order_by(Specialty.name))


def _text(form: Any, name: str) -> str:
    return str(form.get(name, "") or "").strip()


def _unique_name(model: Any, name: str, exclude: str | None, message: str) -> None:
    # In Python: SQLite's LOWER() folds only ASCII, and directories are short.
    taken = {row.name.casefold() for row in model.live().where(model.id != (exclude or ""))}
    if name.casefold() in taken:
        raise ValidationError(message, field="name", name=name)


def save_region(region: Region | None, form: Any) -> Region:
    """Add a region or change its name and time zone."""
    name = _text(form, "name")
    if not name:
        raise ValidationError(N_("Укажите название региона"), field="name")
    zone = check_zone(_text(form, "timezone"))
    with database.atomic():
        _unique_name(Region, name, region.id if region else None, N_("Регион «%(name)s» уже есть"))
        if region is None:
            return Region.create(name=name, timezone=zone)
        region.name, region.timezone = name, zone
        region.save()
        return region


def _live(model: Any, row_id: str, message: str, field: str) -> Any:
    row = model.get_or_none((model.id == row_id) & (model.deleted == False)) if row_id else None  # noqa: E712
    if row is None:
        raise ValidationError(message, field=field)
    return row


def _parent(organization: Organization | None, region: Region, parent_id: str) -> Organization | None:
    """«Головная организация»: none, or another organisation of the same region."""
    if not parent_id:
        return None
    parent: Organization = _live(
        Organization, parent_id, N_("Выберите головную организацию из списка"), "parent"
    )
    if organization is not None and parent.id == organization.id:
        raise ValidationError(N_("Организация не может быть головной для самой себя"), field="parent")
    if parent.region_id != region.id:
        raise ValidationError(N_("Головная организация должна быть в том же регионе"), field="parent")
    return parent


def save_organization(organization: Organization | None, form: Any) -> Organization:
    """Add a post or a centre, or change one."""
    name = _text(form, "name")
    if not name:
        raise ValidationError(N_("Укажите название организации"), field="name")
    kind = _text(form, "kind")
    if kind not in OrgKind.ALL:
        raise ValidationError(N_("Выберите тип организации: ФАП или консультативный центр"), field="kind")
    region = _live(Region, _text(form, "region"), N_("Выберите регион"), "region")
    phone = _text(form, "phone")
    values = {
        "name": name,
        "kind": kind,
        "region": region,
        "address": _text(form, "address"),
        "phone": normalize_phone(phone) if phone else "",
        "parent": _parent(organization, region, _text(form, "parent")),
    }
    with database.atomic():
        if organization is None:
            return Organization.create(**values)
        if kind != organization.kind and _staff_of(organization).exists():
            raise ValidationError(
                N_("Тип организации нельзя изменить, пока в ней есть сотрудники"), field="kind"
            )
        for key, value in values.items():
            setattr(organization, key, value)
        organization.save()
        return organization


def _age(form: Any, name: str) -> int | None:
    """A whole number of years, or None when the field is empty (no bound)."""
    raw = _text(form, name)
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError(N_("Возраст указывается в полных годах, от 0 до 130"), field=name)
    return int(raw)


def save_specialty(specialty: Specialty | None, form: Any) -> Specialty:
    """Add a specialty or change its name, code and the patients' ages it accepts."""
    name = _text(form, "name")
    if not name:
        raise ValidationError(N_("Укажите название специальности"), field="name")
    code = _text(form, "code")
    ages = {"age_from": _age(form, "age_from"), "age_under": _age(form, "age_under")}
    with database.atomic():
        _unique_name(
            Specialty, name, specialty.id if specialty else None, N_("Специальность «%(name)s» уже есть")
        )
        if specialty is None:
            return Specialty.create(name=name, code=code, **ages)
        specialty.name, specialty.code = name, code
        specialty.age_from, specialty.age_under = ages["age_from"], ages["age_under"]
        specialty.save()
        return specialty


def _staff_of(organization: Organization) -> Any:
    return Staff.live().where(Staff.organization == organization.id)


def delete_region(region: Region) -> None:
    with database.atomic():
        used = Organization.live().where(Organization.region == region.id).count()
        if used:
            raise ValidationError(
                N_("Регион «%(name)s» нельзя удалить: в нём есть организации (%(count)s)"),
                field="id",
                name=region.name,
                count=used,
            )
        region.delete_instance()


def delete_organization(organization: Organization) -> None:
    with database.atomic():
        units = Organization.live().where(Organization.parent == organization.id).count()
        if units:
            raise ValidationError(
                N_("Организацию «%(name)s» нельзя удалить: она головная для других организаций (%(count)s)"),
                field="id",
                name=organization.name,
                count=units,
            )
        used = _staff_of(organization).count()
        if used:
            raise ValidationError(
                N_(
                    "Организацию «%(name)s» нельзя удалить: в ней есть сотрудники (%(count)s). "
                    "Сначала переведите их в другую организацию"
                ),
                field="id",
                name=organization.name,
                count=used,
            )
        organization.delete_instance()


def delete_specialty(specialty: Specialty) -> None:
    with database.atomic():
        used = Staff.live().where(Staff.specialty == specialty.id).count()
        if used:
            raise ValidationError(
                N_("Специальность «%(name)s» нельзя удалить: по ней ведут приём консультанты (%(count)s)"),
                field="id",
                name=specialty.name,
                count=used,
            )
        specialty.delete_instance()
