"""Administration pages: the index and the directories (regions, organisations, specialties)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from central.profile.zones import RUSSIAN_ZONES, other_zones
from domain.models import Organization, Region, Role, Specialty, Staff, SupportRequest
from i18n import N_
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import translate_error

from . import bp, directories
from .labels import KIND_LABELS

ADMIN = (Role.ADMIN,)


@dataclass(frozen=True)
class Directory:
    """One directory page: its rows, how a row is saved and deleted, and what the user is told."""

    model: Any
    title: str
    template: str
    rows: Callable[[], list[Any]]
    save: Callable[[Any, Any], Any]
    delete: Callable[[Any], None]
    saved: str
    deleted: str


DIRECTORIES: dict[str, Directory] = {
    "regions": Directory(
        Region,
        N_("Регионы"),
        "central/admin/regions.html",
        directories.regions,
        directories.save_region,
        directories.delete_region,
        N_("Регион «%(name)s» сохранён"),
        N_("Регион «%(name)s» удалён"),
    ),
    "organizations": Directory(
        Organization,
        N_("Организации"),
        "central/admin/organizations.html",
        directories.organizations,
        directories.save_organization,
        directories.delete_organization,
        N_("Организация «%(name)s» сохранена"),
        N_("Организация «%(name)s» удалена"),
    ),
    "specialties": Directory(
        Specialty,
        N_("Специальности"),
        "central/admin/specialties.html",
        directories.specialties,
        directories.save_specialty,
        directories.delete_specialty,
        N_("Специальность «%(name)s» сохранена"),
        N_("Специальность «%(name)s» удалена"),
    ),
}


@bp.get("/")
@login_required(*ADMIN)
def index() -> Any:
    counts = {
        "regions": Region.live().count(),
        "organizations": Organization.live().count(),
        "specialties": Specialty.live().count(),
        "users": Staff.live().count(),
        "support": SupportRequest.live().where(SupportRequest.status != "done").count(),
    }
    return render_template("central/admin/index.html", title=_("Администрирование"), totals=counts)


def _row(directory: Directory, row_id: str | None) -> Any:
    if not row_id:
        return None
    model = directory.model
    row = model.get_or_none((model.id == row_id) & (model.deleted == False))  # noqa: E712
    if row is None:
        abort(404)
    return row


def _page(kind: str, editing: Any, error: str | None = None) -> Any:
    directory = DIRECTORIES[kind]
    return render_template(
        directory.template,
        title=_(directory.title),
        kind=kind,
        rows=directory.rows(),
        editing=editing,
        form=request.form if error else {},
        error=error,
        regions=directories.regions(),
        kind_labels=KIND_LABELS,
        russian_zones=RUSSIAN_ZONES,
        other_zones=other_zones(),
    ), (400 if error else 200)


@bp.route("/<any(regions, organizations, specialties):kind>", methods=["GET", "POST"])
@login_required(*ADMIN)
def directory(kind: str) -> Any:
    """The list with its form: «Добавить», or «Изменить» the row named by `edit`."""
    entry = DIRECTORIES[kind]
    if request.method == "GET":
        return _page(kind, _row(entry, request.args.get("edit")))
    editing = _row(entry, request.form.get("id"))
    try:
        saved = entry.save(editing, request.form)
    except USER_ERRORS as exc:
        return _page(kind, editing, translate_error(exc))
    flash(_(entry.saved, name=saved.name), "success")
    return redirect(url_for("admin.directory", kind=kind))


@bp.post("/<any(regions, organizations, specialties):kind>/<row_id>/delete")
@login_required(*ADMIN)
def delete(kind: str, row_id: str) -> Any:
    entry = DIRECTORIES[kind]
    row = _row(entry, row_id)
    try:
        entry.delete(row)
        flash(_(entry.deleted, name=row.name), "success")
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
    return redirect(url_for("admin.directory", kind=kind))
