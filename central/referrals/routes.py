"""«Направления»: the page and the same list as JSON (/api/v1/referrals)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, g, jsonify, render_template, request
from flask_babel import gettext as _

from domain.models import Referral, Role
from sync.clock import utcnow
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import to_local, translate_error
from web.serialize import iso, staff_json

from . import bp, service


def _today() -> date:
    """Today in the consultant's zone: a referral «до 07.12» is valid all of that day there."""
    now = to_local(utcnow())
    return now.date() if now else utcnow().date()


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() else 1


@bp.get("/referrals")
@login_required(Role.CONSULTANT)
def index() -> Any:
    try:
        filters = service.ReferralFilter.from_args(request.args)
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
        filters = service.ReferralFilter()
    today = _today()
    return render_template(
        "central/referrals/list.html",
        title=_("Направления"),
        listing=service.issued_by(g.staff, filters, today, _page_number()),
        filters=filters,
        today=today,
        state=service.state,
        statuses=service.STATUS_LABELS,
        validity=service.VALIDITY,
    )


def referral_json(referral: Referral, today: date) -> dict[str, Any]:
    return {
        "id": referral.id,
        "patient": {"id": referral.patient_id, "full_name": referral.patient.full_name},
        "post": {"id": referral.post_id, "name": referral.post.name},
        "specialty": {"id": referral.specialty_id, "name": referral.specialty.name},
        "consultant": staff_json(referral.consultant) if referral.consultant_id else None,
        "valid_until": iso(referral.valid_until),
        "valid_today": referral.is_valid_on(today),
        "status": referral.status,
        "diagnoses": referral.diagnoses,
        "justification": referral.justification,
        "source_appeal": referral.source_appeal_id,
        "created_at": iso(referral.created_at),
    }


@bp.get("/api/v1/referrals")
@login_required(Role.CONSULTANT)
def api_index() -> Any:
    """«Направления»: the referrals this consultant issued.
    ---
    get:
      summary: The referrals the logged-in consultant issued, newest first, 25 a page
      parameters:
        - {name: status, in: query, schema: {type: string, enum: [active, used, cancelled]}}
        - name: validity
          in: query
          description: "valid: active and not expired today (the consultant's zone); expired; indefinite"
          schema: {type: string, enum: [valid, expired, indefinite]}
        - {name: page, in: query, schema: {type: integer, default: 1}}
      responses:
        200: {description: "{referrals: [...], page, pages, total}"}
        400:
          description: an unknown status or validity
          content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
    """
    today = _today()
    listing = service.issued_by(
        g.staff, service.ReferralFilter.from_args(request.args), today, _page_number()
    )
    return jsonify(
        referrals=[referral_json(r, today) for r in listing.referrals],
        page=listing.page,
        pages=listing.pages,
        total=listing.total,
    )
