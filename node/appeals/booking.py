"""«Записать пациента»: patient → consultant → date and time → details → review → create."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from faplink.web.auth import login_required
from faplink.web.i18n import to_local, translate_error
from sync.db import database
from sync.errors import SyncError
from sync.models import Slot, Staff

from ..auth.routes import NODE_ROLES
from ..patients.service import post_patient
from . import bp, service

DETAIL_FIELDS = (
    "patient",
    "consultant",
    "slot",
    "kind",
    "form_of_care",
    "contact_mode",
    "question",
    "anamnesis",
    "complaints",
    "exam_data",
)


@bp.get("/book")
@login_required(*NODE_ROLES)
def book() -> Any:
    return redirect(url_for("patients.search", pick="book"))


@bp.get("/book/doctor")
@login_required(*NODE_ROLES)
def book_doctor() -> Any:
    patient = post_patient(request.args.get("patient", ""))
    specialty = request.args.get("specialty") or None
    name = request.args.get("name", "")
    return render_template(
        "node/book_doctor.html",
        title=_("Выбор консультанта"),
        patient=patient,
        specialties=service.specialties(),
        specialty=specialty,
        name=name,
        consultants=service.consultants(specialty, name),
    )


@bp.get("/book/slot")
@login_required(*NODE_ROLES)
def book_slot() -> Any:
    patient = post_patient(request.args.get("patient", ""))
    consultant = Staff.get_by_id(request.args.get("consultant", ""))
    slots = service.free_slots(consultant.id)
    days = [
        (day, list(items))
        for day, items in groupby(slots, key=lambda s: to_local(s.starts_at).date())  # type: ignore[union-attr]
    ]
    return render_template(
        "node/book_slot.html",
        title=_("Изменить дату и время"),
        patient=patient,
        consultant=consultant,
        days=days,
    )


@bp.route("/book/details", methods=["GET", "POST"])
@login_required(*NODE_ROLES)
def book_details() -> Any:
    data = {name: request.values.get(name, "") for name in DETAIL_FIELDS}
    patient = post_patient(data["patient"])
    consultant = Staff.get_by_id(data["consultant"])
    slot = Slot.get_or_none(Slot.id == data["slot"]) if data["slot"] else None
    error = None
    if request.method == "POST":
        try:
            _dry_run(data)
            return render_template(
                "node/book_review.html",
                title=_("Проверьте данные обращения"),
                data=data,
                patient=patient,
                consultant=consultant,
                slot=slot,
            )
        except SyncError as exc:
            error = translate_error(exc)
    return render_template(
        "node/book_details.html",
        title=_("Текст обращения"),
        data=data,
        patient=patient,
        consultant=consultant,
        slot=slot,
        error=error,
    ), (400 if error else 200)


@bp.post("/book/create")
@login_required(*NODE_ROLES)
def book_create() -> Any:
    data = {name: request.form.get(name, "") for name in DETAIL_FIELDS}
    try:
        appeal = service.create_appeal(g.staff, data)
    except SyncError as exc:
        flash(translate_error(exc), "error")
        target = "appeals.book_slot" if exc.field == "slot" else "appeals.book_details"
        params: dict[str, str] = {k: v for k, v in data.items() if v}
        return redirect(url_for(target, **params))  # type: ignore[arg-type]
    flash(_("Обращение создано"), "success")
    return redirect(url_for("appeals.detail", appeal_id=appeal.id))


def _dry_run(data: dict[str, Any]) -> None:
    """Check the appeal with exactly the rules that creating it applies, then roll back."""
    with database.atomic() as txn:
        service.create_appeal(g.staff, data)
        txn.rollback()
