"""«Направления» pages and their JSON API (/api/v1/referrals)."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from domain.models import Referral, Staff
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import translate_error
from web.serialize import iso, staff_json
from web.session_api import json_body

from ..appeals import service as appeals
from ..auth.routes import NODE_ROLES
from ..patients.service import post_patient
from ..syncing import reached_centre
from . import bp, service


@bp.get("/referrals")
@login_required(*NODE_ROLES)
def index() -> Any:
    return render_template(
        "node/referrals/list.html", title=_("Направления"), referrals=service.issued(), reached=reached_centre
    )


@bp.route("/referrals/new", methods=["GET", "POST"])
@login_required(*NODE_ROLES)
def new() -> Any:
    patient_id = request.values.get("patient", "")
    if not patient_id:
        return redirect(url_for("patients.search", pick="referral"))
    patient = post_patient(patient_id)
    error = None
    if request.method == "POST":
        try:
            referral = service.create_referral(g.staff, request.form.to_dict())
        except USER_ERRORS as exc:
            error = translate_error(exc)
        else:
            flash(_("Направление создано"), "success")
            return redirect(url_for("referrals.index", created=referral.id))
    consultants = appeals.consultants()

    def specialty(c: Staff) -> str:
        return c.specialty.name if c.specialty is not None else ""

    ordered = sorted(consultants, key=lambda c: (specialty(c), c.last_name))
    groups = [(name, list(items)) for name, items in groupby(ordered, key=specialty)]
    return render_template(
        "node/referrals/form.html",
        title=_("Новое направление"),
        patient=patient,
        specialties=appeals.specialties(),
        groups=groups,
        form=request.form,
        error=error,
    ), (400 if error else 200)


def referral_json(referral: Referral) -> dict[str, Any]:
    return {
        "id": referral.id,
        "patient": {"id": referral.patient_id, "full_name": referral.patient.full_name},
        "specialty": {"id": referral.specialty_id, "name": referral.specialty.name},
        "consultant": staff_json(referral.consultant) if referral.consultant_id else None,
        "valid_until": iso(referral.valid_until),
        "diagnoses": referral.diagnoses,
        "justification": referral.justification,
        "status": referral.status,
        "created_at": iso(referral.created_at),
        "reached_centre": reached_centre(referral.seq, referral.changed_by),
    }


@bp.get("/api/v1/referrals")
@login_required(*NODE_ROLES)
def api_list() -> Any:
    """Referrals issued at this post.
    ---
    get:
      summary: «Направления» of this post's patients, newest first
      responses:
        200: {description: referrals}
    """
    return jsonify(referrals=[referral_json(r) for r in service.issued()])


@bp.post("/api/v1/referrals")
@login_required(*NODE_ROLES)
def api_create() -> Any:
    """«Информация верна, создать направление».
    ---
    post:
      summary: Issue a referral to a specialty or a chosen consultant, valid until a date or indefinitely
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [patient, specialty, justification]
              properties:
                patient: {type: string}
                specialty: {type: string}
                consultant: {type: string, description: "optional: a consultant of that specialty"}
                valid_until: {type: string, format: date}
                indefinite: {type: boolean, description: "«бессрочно» (then valid_until is ignored)"}
                diagnoses: {type: string, description: possible diseases}
                justification: {type: string}
      responses:
        201: {description: the referral}
        400: {description: "missing or invalid field", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    """  # noqa: E501
    data = json_body()
    if isinstance(data.get("indefinite"), bool):
        data["indefinite"] = "1" if data["indefinite"] else ""
    return jsonify(referral_json(service.create_referral(g.staff, data))), 201
