from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from domain.models import Patient
from web import audit
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import translate_error

from ..auth.routes import NODE_ROLES
from . import bp, service

#: Wizards that start with finding a patient: where «Выбрать пациента» leads.
PICK_TARGETS = {
    "book": ("appeals.book_doctor", "patient"),
    "exam": ("exams.new", "patient_id"),
    "referral": ("referrals.new", "patient"),
}


def pick_url(pick: str | None, patient_id: str) -> str | None:
    target = PICK_TARGETS.get(pick or "")
    if target is None:
        return None
    endpoint, param = target
    params: dict[str, Any] = {param: patient_id}
    return url_for(endpoint, **params)


@bp.app_template_global()
def patient_pick_url(pick: str | None, patient_id: str) -> str | None:
    return pick_url(pick, patient_id)


@bp.get("/patients")
@login_required(*NODE_ROLES)
def search() -> Any:
    query = request.args.get("q", "")
    pick = request.args.get("pick")  # set when the search is a step of a wizard
    error = None
    found = []
    try:
        found = service.search(query)
    except USER_ERRORS as exc:
        error = translate_error(exc)
    if query.strip() and error is None:
        audit.searched(audit.query_fields(query), found)
    return render_template(
        "node/patients.html",
        title=_("Поиск пациента"),
        query=query,
        found=found,
        error=error,
        pick=pick,
    )


def _representatives(form: Any, patient: Patient | None) -> tuple[list[Patient], str | None]:
    """The adult patients the form offers as the representative: those «Найти представителя»
    found, and the one already chosen; with the search's error, if any."""
    chosen = str(form.get("representative") or "")
    found: list[Patient] = []
    error = None
    query = str(form.get("representative_query") or "").strip()
    if form.get("find_representative"):
        try:
            found = service.representative_candidates(query, exclude=patient.id if patient else None)
            audit.searched(audit.query_fields(query), found)
            if not found:
                error = _(
                    "Совершеннолетний пациент поста не найден: "
                    "укажите ФИО, документ и телефон представителя"
                )
        except USER_ERRORS as exc:
            error = translate_error(exc)
    if chosen and chosen not in {p.id for p in found}:
        linked = Patient.get_or_none(Patient.id == chosen)
        if linked is not None:
            found.insert(0, linked)
    return found, error


@bp.route("/patients/new", methods=["GET", "POST"])
@login_required(*NODE_ROLES)
def new() -> Any:
    error = None
    pick = request.values.get("pick")
    candidates, search_error = _representatives(request.form, None)
    if request.method == "POST" and request.form.get("find_representative"):
        return render_template(
            "node/patient_form.html",
            title=_("Новый пациент"),
            form=request.form,
            error=search_error,
            pick=pick,
            patient=None,
            candidates=candidates,
        )
    if request.method == "POST":
        try:
            patient = service.register(request.form.to_dict())
            target = pick_url(pick, patient.id)
            if target:
                return redirect(target)
            return redirect(url_for("patients.search", q=patient.phone or patient.snils or patient.enp))
        except USER_ERRORS as exc:
            error = translate_error(exc)
    return render_template(
        "node/patient_form.html",
        title=_("Новый пациент"),
        form=request.form,
        error=error,
        pick=pick,
        patient=None,
        candidates=candidates,
    ), (400 if error else 200)


@bp.get("/patients/<patient_id>")
@login_required(*NODE_ROLES)
def card(patient_id: str) -> Any:
    """The patient's card: demographics, exams with the vitals chart, files, referrals."""
    from web.charts import vital_charts

    from ..exams import service as exams
    from ..referrals import service as referrals

    patient = service.post_patient(patient_id)
    audit.viewed(patient)
    history = exams.patient_exams(patient)
    charts = vital_charts(patient)
    return render_template(
        "node/patient_card.html",
        title=patient.full_name,
        patient=patient,
        exams=history,
        values={e.id: exams.observations(e) for e in history[:10]},
        warning=exams.exam_warning(history[0]) if history else None,
        charts=charts,
        referrals=referrals.for_patient(patient),
        represented=list(Patient.live().where(Patient.representative == patient.id)),
    )


@bp.route("/patients/<patient_id>/edit", methods=["GET", "POST"])
@login_required(*NODE_ROLES)
def edit(patient_id: str) -> Any:
    """«Изменить данные пациента»: only the fields that changed are sent, so only they win a merge."""
    patient = service.post_patient(patient_id)
    error = None
    form: Any = request.form
    if request.method == "POST" and request.form.get("find_representative"):
        candidates, search_error = _representatives(request.form, patient)
        return render_template(
            "node/patient_form.html",
            title=_("Изменить данные пациента"),
            form=form,
            error=search_error,
            pick=None,
            patient=patient,
            candidates=candidates,
        )
    if request.method == "POST":
        try:
            changes = service.changed_fields(patient, request.form.to_dict())
            if changes:
                service.update(patient.id, changes)
                flash(_("Данные пациента сохранены"), "success")
            else:
                flash(_("Изменений нет"), "info")
            return redirect(url_for("patients.card", patient_id=patient.id))
        except USER_ERRORS as exc:
            error = translate_error(exc)
    else:
        audit.viewed(patient, detail="edit")
        form = {
            "last_name": patient.last_name,
            "first_name": patient.first_name,
            "middle_name": patient.middle_name,
            "birth_date": patient.birth_date.isoformat(),
            "sex": patient.sex,
            "phone": patient.phone or "",
            "snils": patient.snils_display,
            "enp": patient.enp or "",
            "address": patient.address,
            "representative": patient.representative_id or "",
            "representative_relation": patient.representative_relation,
            "representative_name": patient.representative_name,
            "representative_document": patient.representative_document,
            "representative_phone": patient.representative_phone or "",
        }
    candidates, _error = _representatives(form, patient)
    return render_template(
        "node/patient_form.html",
        title=_("Изменить данные пациента"),
        form=form,
        error=error,
        pick=None,
        patient=patient,
        candidates=candidates,
    ), (400 if error else 200)
