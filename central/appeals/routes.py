from __future__ import annotations

from itertools import zip_longest
from typing import Any

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from central.protocols import icd10
from domain.models import AppealStatus, DiagnosisRole, Role
from sync.clock import utcnow
from web import audit
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import to_local, translate_error

from . import bp, service

CONSULTANT = (Role.CONSULTANT, Role.ADMIN)


@bp.get("/appeals/<appeal_id>")
@login_required(*CONSULTANT)
def detail(appeal_id: str) -> Any:
    appeal = service.visible_appeal(g.staff, appeal_id)
    audit.viewed(appeal)
    protocol = appeal.current_protocol()
    earliest = appeal.can_take_from()
    return render_template(
        "central/appeal.html",
        title=appeal.patient.full_name,
        appeal=appeal,
        protocol=protocol,
        pdf=appeal.protocol_pdf(),
        now=utcnow(),
        take_from=to_local(earliest) if earliest else None,
        AppealStatus=AppealStatus,
    )


@bp.post("/appeals/<appeal_id>/take")
@login_required(*CONSULTANT)
def take(appeal_id: str) -> Any:
    service.visible_appeal(g.staff, appeal_id)  # 404 before anything is tried
    try:
        service.take(g.staff, appeal_id)
        flash(_("Обращение взято в работу"), "success")
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
    return redirect(url_for("appeals.detail", appeal_id=appeal_id))


@bp.route("/appeals/<appeal_id>/protocol", methods=["GET", "POST"])
@login_required(*CONSULTANT)
def protocol(appeal_id: str) -> Any:
    appeal = service.visible_appeal(g.staff, appeal_id)
    form = request.form
    error = None
    codes = form.getlist("diagnosis_code")
    titles = form.getlist("diagnosis_title")
    roles = form.getlist("diagnosis_role")
    # Without JS or from an older page a row may come without a role: it gets one by position.
    diagnoses = list(zip_longest(codes, titles, roles, fillvalue=""))
    if request.method == "POST":
        try:
            service.send_protocol(
                g.staff,
                appeal_id,
                anamnesis=form.get("anamnesis", ""),
                recommendations=form.get("recommendations", ""),
                additional_recommendations=form.get("additional_recommendations", ""),
                diagnoses=diagnoses,
                files=request.files.getlist("protocol_files"),
            )
            flash(_("Протокол отправлен, обращение закрыто"), "success")
            return redirect(url_for("appeals.detail", appeal_id=appeal_id))
        except USER_ERRORS as exc:
            error = translate_error(exc)
    else:
        audit.viewed(appeal, detail="protocol_form")
    return render_template(
        "central/protocol_form.html",
        title=_("Протокол"),
        appeal=appeal,
        form=form,
        diagnoses=diagnoses or [("", "", DiagnosisRole.MAIN)],
        roles=DiagnosisRole.ALL,
        icd10_version=icd10.VERSION,
        error=error,
    ), (400 if error else 200)


@bp.get("/appeals/<appeal_id>/protocol.pdf")
@login_required(*CONSULTANT)
def protocol_pdf(appeal_id: str) -> Any:
    appeal = service.visible_appeal(g.staff, appeal_id)
    data = service.protocol_pdf_bytes(appeal)
    audit.protocol_downloaded(appeal)
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="protocol-{appeal.id[:8]}.pdf"'},
    )
