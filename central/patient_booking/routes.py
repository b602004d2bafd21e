"""«Записать пациента»: patient → doctor, date and time → appeal text and files → check → create.

The search is sent by POST: a phone or СНИЛС never travels in a URL (nor into a log line).
The later steps carry only ids; the booking itself is «Маршрутизация»'s
(:mod:`central.routing.booking`): one check, one transaction.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from central.appeals import service as appeals
from central.routing import booking, files
from central.routing.files import StagedFile
from central.routing.service import free_slots
from domain.models import AppealKind, ContactMode, Patient, Relation, Role, Slot, Specialty, Staff
from sync.clock import utcnow
from web import audit
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import to_local, translate_error
from web.serialize import appeal_json
from web.session_api import json_body

from . import bp, patients

_REVIEW, _CREATE = "review", "create"


@bp.route("/book/", methods=["GET", "POST"])
@login_required(Role.CONSULTANT)
def find() -> Any:
    """Step 1: «найдите медицинскую карту нужного пациента по номеру телефона, СНИЛС или полису ОМС»."""
    query = request.form.get("query", "") if request.method == "POST" else ""
    found: list[Patient] = []
    error = None
    if query.strip():
        try:
            found = patients.search(g.staff, query)
        except USER_ERRORS as exc:
            error = translate_error(exc)
        else:
            audit.searched(audit.query_fields(query), found)
    return render_template(
        "central/patient_booking/find.html",
        title=_("Записать пациента"),
        query=query,
        searched=bool(query.strip()) and error is None,
        found=found,
        error=error,
    ), (400 if error else 200)


@bp.route("/book/patient", methods=["GET", "POST"])
@login_required(Role.CONSULTANT)
def new_patient() -> Any:
    """«Создать учётную запись для пациента», when the search finds nobody."""
    error = None
    if request.method == "POST":
        try:
            patient = patients.create(g.staff, request.form)
        except USER_ERRORS as exc:
            error = translate_error(exc)
        else:
            audit.viewed(patient)
            flash(_("Пациент %(name)s создан", name=patient.full_name), "success")
            return redirect(url_for("patient_booking.doctor", patient=patient.id))
    return render_template(
        "central/patient_booking/patient_form.html",
        title=_("Новый пациент"),
        form=request.form,
        posts=patients.region_posts(g.staff),
        relations=Relation.ALL,
        error=error,
    ), (400 if error else 200)


def _patient() -> Patient:
    return patients.region_patient(g.staff, request.values.get("patient", ""))


@bp.get("/book/doctor")
@login_required(Role.CONSULTANT)
def doctor() -> Any:
    """Step 2: the doctor (filter by specialty, search by name), then a free date and time."""
    try:
        patient = _patient()
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
        return redirect(url_for("patient_booking.find"))
    doctors = booking.bookable_doctors(patient)
    specialty = request.args.get("specialty", "")
    name = request.args.get("name", "").strip()
    shown = [
        d
        for d in doctors
        if (not specialty or d.specialty_id == specialty)
        and (not name or name.lower() in d.full_name.lower())
    ]
    chosen = next((d for d in doctors if d.id == request.args.get("consultant")), None)
    days = []
    if chosen is not None:
        slots = free_slots(chosen.id)
        days = [(day, list(items)) for day, items in groupby(slots, key=_local_day)]
    specialties = {d.specialty_id for d in doctors}
    return render_template(
        "central/patient_booking/doctor.html",
        title=_("Выбор врача"),
        patient=patient,
        specialties=[s for s in Specialty.live().order_by(Specialty.name) if s.id in specialties],
        specialty=specialty,
        name=name,
        doctors=shown,
        chosen=chosen,
        days=days,
    )


def _local_day(slot: Slot) -> Any:
    local = to_local(slot.starts_at)
    return local.date() if local else slot.starts_at.date()


def _now_local() -> str:
    now = to_local(utcnow())
    return now.strftime("%Y-%m-%dT%H:%M") if now else ""


def _details(
    patient: Patient, form: Any, error: str | None = None, attached: list[StagedFile] | None = None
) -> Any:
    consultant = Staff.get_or_none(Staff.id == form.get("consultant", ""))
    slot = Slot.get_or_none(Slot.id == form.get("slot", "")) if form.get("slot") else None
    attached = attached or []
    return render_template(
        "central/patient_booking/details.html",
        title=_("Текст обращения"),
        patient=patient,
        consultant=consultant,
        slot=slot,
        form=form,
        kinds=AppealKind.ALL,
        contact_modes=ContactMode.ALL,
        consent_at=form.get("consent_at") or _now_local(),
        attached=attached,
        attached_token=files.carry(attached, g.staff),
        max_files=files.MAX_FILES,
        error=error,
    ), (400 if error else 200)


@bp.route("/book/details", methods=["GET", "POST"])
@login_required(Role.CONSULTANT)
def details() -> Any:
    """Step 3 and the check: the type of consultation, the contact, the text, the files; then
    «Информация верна, создать обращение»."""
    try:
        patient = _patient()
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
        return redirect(url_for("patient_booking.find"))
    form = request.values
    step = request.form.get("step")
    attached: list[StagedFile] = []
    try:
        attached = files.carried(request.form.get("attached", ""), g.staff)
        if request.method == "POST" and step != _CREATE:
            dropped, uploads = request.form.getlist("drop"), request.files.getlist("files")
            attached = files.update(attached, dropped=dropped, uploads=uploads)
        if request.method == "GET" or step not in (_REVIEW, _CREATE):
            return _details(patient, form, attached=attached)
        draft = booking.read_booking(
            patient,
            form,
            kind=form.get("kind", ""),
            contact_mode=form.get("contact_mode", ""),
            attached=attached,
        )
        if step == _REVIEW:
            return render_template(
                "central/patient_booking/review.html",
                title=_("Проверьте данные обращения"),
                patient=patient,
                form=form,
                draft=draft,
                attached_token=files.carry(attached, g.staff),
            )
        created = booking.book(g.staff, draft)
    except USER_ERRORS as exc:
        return _details(patient, form, translate_error(exc), attached)
    when = to_local(draft.slot.starts_at)
    flash(
        _(
            "Обращение создано: %(doctor)s, %(time)s; оно будет доступно на ФАП после синхронизации",
            doctor=draft.consultant.full_name,
            time=when.strftime("%d.%m.%Y %H:%M") if when else "",
        ),
        "success",
    )
    if appeals.can_see(g.staff, created.id):
        return redirect(url_for("appeals.detail", appeal_id=created.id))
    return redirect(url_for("appeals.queue", queue="new"))


@bp.post("/api/v1/bookings", endpoint="api_book")
@login_required(Role.CONSULTANT)
def api_book() -> Any:
    """«Записать пациента».
    ---
    post:
      summary: Book a patient of the region into a doctor's free slot (a new appeal, by the wizard's rules)
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [patient, consultant, slot, question, consent_by]
              properties:
                patient: {type: string, description: "a patient of a post in the consultant's region"}
                consultant: {type: string}
                slot: {type: string}
                kind: {type: string, enum: [primary, repeat, monitoring], default: primary}
                contact_mode: {type: string, enum: [video, audio, chat], default: video}
                question: {type: string, description: the text of the appeal}
                consent_by: {type: string, enum: [patient, representative]}
                consent_name: {type: string}
                consent_at: {type: string, format: date-time}
      responses:
        201: {description: the new appeal; it reaches the post with its next sync}
        400:
          description: "an unknown patient or doctor, a taken slot, no ИДС, an age the doctor does not see"
          content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
    """
    body = json_body()
    patient = patients.region_patient(g.staff, str(body.get("patient") or ""))
    draft = booking.read_booking(
        patient,
        body,
        kind=str(body.get("kind") or AppealKind.PRIMARY),
        contact_mode=str(body.get("contact_mode") or ContactMode.VIDEO),
    )
    return jsonify(appeal_json(booking.book(g.staff, draft), utcnow())), 201
