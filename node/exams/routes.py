"""Exam pages: the form (by hand or «Взять показание»), the stored exam with its files and red flags."""

from __future__ import annotations

from typing import Any, cast

from flask import Flask, flash, g, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _

from domain.errors import ValidationError
from domain.models import Appeal, Attachment, AttachmentKind
from i18n import N_
from sync.clock import utcnow
from sync.db import database
from web import audit
from web.auth import login_required
from web.charts import vital_charts
from web.errors import USER_ERRORS
from web.i18n import to_local, translate_error

from ..auth.routes import NODE_ROLES
from ..patients.service import post_patient
from . import api, bp, file_routes, files, service  # noqa: E402,F401,I001  (their routes join this blueprint)
from .devices import device_feed, start_devices
from .vitals import FORM_ORDER, LAB_ORDER, vital


@bp.record_once
def _devices(state: BlueprintSetupState) -> None:
    start_devices(cast(Flask, state.app))


@bp.app_template_global()
def appeal_files(appeal: Appeal) -> list[Attachment]:
    """An appeal's files and photos (not the protocol PDFs), for `node/exams/_files.html`."""
    return list(
        Attachment.live()
        .where(
            (Attachment.appeal == appeal.id)
            & Attachment.kind.in_((AttachmentKind.FILE, AttachmentKind.PHOTO, AttachmentKind.PROTOCOL_FILE))
        )
        .order_by(Attachment.created_at)
    )


@bp.get("/exams")
@login_required(*NODE_ROLES)
def start() -> Any:
    return redirect(url_for("patients.search", pick="exam"))


def _form_rows(form: Any) -> list[dict[str, Any]]:
    latest = device_feed().latest()
    rows = []
    for code in (*FORM_ORDER, *LAB_ORDER):
        rows.append(
            {
                "vital": vital(code),
                "value": form.get(f"value_{code}", ""),
                "unit": form.get(f"unit_{code}", ""),
                "device": form.get(f"device_{code}", ""),
                "serial": form.get(f"serial_{code}", ""),
                "at": form.get(f"at_{code}", ""),
                "reading": latest.get(code),
                "first_lab": code == LAB_ORDER[0],
            }
        )
    return rows


def _take_reading(form: dict[str, str], code: str) -> None:
    """«Взять показание» without scripts: put the device's latest value in the form."""
    reading = device_feed().latest().get(code)
    if reading is None:
        raise ValidationError(
            N_("Нет свежего показания с прибора для этого показателя"), field=f"value_{code}"
        )
    form.update(
        {
            f"value_{code}": f"{reading.value:g}",
            f"unit_{code}": reading.unit,
            f"device_{code}": reading.device,
            f"serial_{code}": reading.device_serial,
            f"at_{code}": reading.taken_at.isoformat() + "Z",
        }
    )


@bp.route("/patients/<patient_id>/exams/new", methods=["GET", "POST"])
@login_required(*NODE_ROLES)
def new(patient_id: str) -> Any:
    patient = post_patient(patient_id)
    form = request.form.to_dict()
    error = None
    if request.method == "POST":
        try:
            take = request.form.get("take")
            if take:
                _take_reading(form, take)
            else:
                consciousness, on_oxygen = service.consciousness_oxygen_from_form(form)
                exam = service.record_exam(
                    g.staff,
                    patient.id,
                    complaints=form.get("complaints", ""),
                    objective_status=form.get("objective_status", ""),
                    vitals=service.vitals_from_form(form),
                    taken_at=service.parse_exam_time(form.get("taken_at", "")),
                    consciousness=consciousness,
                    on_oxygen=on_oxygen,
                )
                flash(_("Обследование сохранено"), "success")
                return redirect(url_for("exams.detail", exam_id=exam.id))
        except USER_ERRORS as exc:
            error = translate_error(exc)
    local_now = to_local(utcnow())
    return render_template(
        "node/exams/form.html",
        title=_("Обследование"),
        patient=patient,
        form=form,
        rows=_form_rows(form),
        readings=[r.as_json() for r in device_feed().latest().values()],
        now_local=local_now.strftime("%Y-%m-%dT%H:%M") if local_now else "",
        error=error,
    ), (400 if error else 200)


@bp.get("/exams/<exam_id>")
@login_required(*NODE_ROLES)
def detail(exam_id: str) -> Any:
    exam = service.post_exam(exam_id)
    audit.viewed(exam)
    return render_template(
        "node/exams/detail.html",
        title=_("Обследование"),
        exam=exam,
        patient=exam.patient,
        observations=service.observations(exam),
        warning=service.exam_warning(exam),
        attachments=files.exam_attachments(exam),
        charts=vital_charts(exam.patient),
    )


@bp.post("/exams/<exam_id>/attachments")
@login_required(*NODE_ROLES)
def attach(exam_id: str) -> Any:
    """Files chosen on the exam page (without scripts: the form posts them here)."""
    exam = service.post_exam(exam_id)
    uploads = [u for u in request.files.getlist("file") if u.filename]
    try:
        if not uploads:
            raise ValidationError(N_("Выберите файл"), field="file")
        staged = [
            files.stage(u.read(), u.filename or "", request.form.get("kind", AttachmentKind.FILE))
            for u in uploads
        ]
        with database.atomic():
            for item in staged:
                files.attach(g.staff, item, exam=exam)
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
    else:
        flash(_("Файлы прикреплены: %(n)s", n=len(staged)), "success")
    return redirect(url_for("exams.detail", exam_id=exam.id) + "#files")
