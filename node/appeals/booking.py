"""«Записать пациента»: patient → consultant → date and time → details and files → review → create.

The details step takes the latest exam's data (and proposes the form of care its
early warning asks for: choosing a less urgent one needs a reason, which the
consultant sees) and the files «результаты инструментальных и
лабораторных исследований». Files are staged until the appeal is created; the
appeal, its files and the exam's link to it are then stored in one transaction
(:func:`service.create_appeal`, the JSON API's way too).
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from domain.models import AttachmentKind, Exam, Patient, Slot
from sync.clock import utcnow
from web.auth import login_required
from web.earlywarning import EarlyWarning
from web.errors import USER_ERRORS
from web.i18n import to_local, translate_error

from ..auth.routes import NODE_ROLES
from ..exams import files
from ..exams import service as exams
from ..patients.service import post_patient
from . import bp, service

#: The ИДС to the consultation: who gave it, the representative's name, when (local time),
#: and the staged photo/scan of the signed form.
CONSENT_FIELDS = ("consent_by", "consent_name", "consent_at", "consent_file")

DETAIL_FIELDS = (
    "patient",
    "consultant",
    "slot",
    "kind",
    "form_of_care",
    "form_reason",
    "contact_mode",
    "question",
    "anamnesis",
    "complaints",
    "exam_data",
    "exam",
    "files",
    *CONSENT_FIELDS,
)


def _exam_for(patient: Patient, exam_id: str) -> Exam | None:
    """The exam the details step offers: the one chosen, else the latest not yet sent."""
    if exam_id:
        exam = exams.post_exam(exam_id)
        return exam if exam.patient_id == patient.id else None
    return exams.latest_exam(patient, unlinked=True)


def _warning(patient: Patient, exam_id: str = "") -> EarlyWarning | None:
    return exams.exam_warning(_exam_for(patient, exam_id))


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
        specialties=service.specialties(patient),
        specialty=specialty,
        name=name,
        consultants=service.consultants(specialty, name, patient),
        warning=_warning(patient),
    )


@bp.get("/book/slot")
@login_required(*NODE_ROLES)
def book_slot() -> Any:
    patient = post_patient(request.args.get("patient", ""))
    consultant = service.chosen_consultant(request.args.get("consultant", ""))
    try:
        slots = service.bookable_slots(consultant.id, patient)
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
        return redirect(url_for("appeals.book_doctor", patient=patient.id))
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
        warning=_warning(patient),
        carried={
            k: request.args.get(k, "") for k in DETAIL_FIELDS if k not in ("patient", "consultant", "slot")
        },
    )


def _prefill_consent(data: dict[str, str], patient: Patient) -> None:
    """The ИДС's defaults: the representative on the card, given now. Who gave it the
    feldsher marks each time."""
    if not data["consent_name"]:
        data["consent_name"] = patient.representative_display
    if not data["consent_at"]:
        now = to_local(utcnow())
        data["consent_at"] = now.strftime("%Y-%m-%dT%H:%M") if now else ""


def _take_consent_scan(data: dict[str, str]) -> list[files.StagedFile]:
    """The photo/scan of the signed ИДС form: one file, replaced by a new upload."""
    staged = files.parse_staged(data["consent_file"])
    upload = request.files.get("consent_upload")
    if upload is not None and upload.filename:
        staged = [files.stage(upload.read(), upload.filename, AttachmentKind.CONSENT)]
    if request.form.get("remove") and staged and request.form["remove"] == staged[0].sha256:
        staged = []
    data["consent_file"] = files.dump_staged(staged)
    return staged


def _prefill(data: dict[str, str], patient: Patient) -> Exam | None:
    """First arrival at the details step: take the latest exam's complaints and findings."""
    _prefill_consent(data, patient)
    exam = _exam_for(patient, data["exam"])
    if exam is None:
        return None
    if not data["exam"] and not (data["complaints"] or data["exam_data"]):
        data["exam"] = exam.id
        data["complaints"] = exam.complaints
        data["exam_data"] = exams.exam_summary(exam)
    if not data["form_of_care"]:
        data["form_of_care"] = service.proposed_form(exam)
    return exam


def _take_uploads(data: dict[str, str]) -> list[files.StagedFile]:
    """Files sent with the form (pages without scripts) join those already staged."""
    staged = files.parse_staged(data["files"])
    for upload in request.files.getlist("upload"):
        if upload.filename:
            item = files.stage(upload.read(), upload.filename)
            if item.sha256 not in {f.sha256 for f in staged}:
                staged.append(item)
    removed = request.form.get("remove")
    if removed:
        staged = [f for f in staged if f.sha256 != removed]
    data["files"] = files.dump_staged(staged)
    return staged


@bp.route("/book/details", methods=["GET", "POST"])
@login_required(*NODE_ROLES)
def book_details() -> Any:
    data = {name: request.values.get(name, "") for name in DETAIL_FIELDS}
    patient = post_patient(data["patient"])
    consultant = service.chosen_consultant(data["consultant"])
    slot = Slot.get_or_none(Slot.id == data["slot"]) if data["slot"] else None
    error = None
    staged: list[files.StagedFile] = []
    consent_scan: list[files.StagedFile] = []
    exam = None
    try:
        exam = _prefill(data, patient)
        staged = _take_uploads(data) if request.method == "POST" else files.parse_staged(data["files"])
        consent_scan = _take_consent_scan(data)
        if request.method == "POST" and not request.form.get("remove"):
            service.check_appeal(g.staff, data, staged, consent_scan)
            return render_template(
                "node/book_review.html",
                title=_("Проверьте данные обращения"),
                data=data,
                patient=patient,
                consultant=consultant,
                slot=slot,
                staged=staged,
                consent_scan=consent_scan,
                exam=exam if data["exam"] else None,
                exam_files=_exam_files(exam if data["exam"] else None),
            )
    except USER_ERRORS as exc:
        error = translate_error(exc)
        staged = _staged_or_none(data["files"])
        consent_scan = _staged_or_none(data["consent_file"])
    warning = exams.exam_warning(exam) if exam is not None and data["exam"] else None
    return render_template(
        "node/book_details.html",
        title=_("Текст обращения"),
        data=data,
        patient=patient,
        consultant=consultant,
        slot=slot,
        error=error,
        staged=staged,
        consent_scan=consent_scan,
        exam=exam if data["exam"] else None,
        exam_files=_exam_files(exam if data["exam"] else None),
        warning=warning,
    ), (400 if error else 200)


def _staged_or_none(text: str) -> list[files.StagedFile]:
    try:
        return files.parse_staged(text)
    except USER_ERRORS:
        return []


def _exam_files(exam: Exam | None) -> list[Any]:
    return files.exam_attachments(exam) if exam is not None else []


@bp.post("/book/create")
@login_required(*NODE_ROLES)
def book_create() -> Any:
    data = {name: request.form.get(name, "") for name in DETAIL_FIELDS}
    try:
        staged = files.parse_staged(data["files"])
        consent_scan = files.parse_staged(data["consent_file"])
        appeal = service.create_appeal(g.staff, data, staged, consent_scan)
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
        target = "appeals.book_slot" if exc.field == "slot" else "appeals.book_details"
        params: dict[str, str] = {k: v for k, v in data.items() if v}
        return redirect(url_for(target, **params))  # type: ignore[arg-type]
    flash(_("Обращение создано"), "success")
    return redirect(url_for("appeals.detail", appeal_id=appeal.id))
