from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from itertools import groupby
from typing import Any

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from domain.errors import ValidationError
from domain.models import Appeal, AppealKind, Referral, Role, Slot
from i18n import N_
from sync.clock import utcnow
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import to_local, translate_error
from web.serialize import appeal_json, iso, staff_json

from . import booking, bp, files, service
from .files import StagedFile

# Each step shows the form again with the user's input and the reason, or the review.
_REVIEW, _CREATE = "review", "create"


@bp.get("/appeals/<appeal_id>/routing")
@login_required(Role.CONSULTANT)
def routing(appeal_id: str) -> Any:
    appeal = service.routable_appeal(g.staff, appeal_id)
    return render_template(
        "central/routing/index.html",
        title=_("Маршрутизация"),
        appeal=appeal,
        referrals=service.issued_from(appeal),
    )


def _referral_form(appeal: Appeal, form: Any, error: str | None = None) -> Any:
    return render_template(
        "central/routing/referral_form.html",
        title=_("Создание направления"),
        appeal=appeal,
        form=form,
        specialties=service.specialties(appeal),
        doctors=service.doctors(appeal),
        error=error,
    ), (400 if error else 200)


@bp.route("/appeals/<appeal_id>/routing/referral", methods=["GET", "POST"])
@login_required(Role.CONSULTANT)
def referral(appeal_id: str) -> Any:
    appeal = service.routable_appeal(g.staff, appeal_id)
    form = request.form
    step = form.get("step")
    if request.method == "GET" or step not in (_REVIEW, _CREATE):
        return _referral_form(appeal, form)
    try:
        draft = service.read_referral(appeal, form)
        if step == _REVIEW:
            return render_template(
                "central/routing/referral_review.html",
                title=_("Создание направления"),
                appeal=appeal,
                form=form,
                draft=draft,
            )
        service.create_referral(g.staff, appeal, draft)
    except USER_ERRORS as exc:
        return _referral_form(appeal, form, translate_error(exc))
    flash(_("Направление создано: оно будет доступно на ФАП после синхронизации"), "success")
    return redirect(url_for("routing.routing", appeal_id=appeal.id))


def _local_day(slot: Slot) -> date:
    local = to_local(slot.starts_at)
    return local.date() if local else slot.starts_at.date()


def _booking_form(
    appeal: Appeal, form: Any, error: str | None = None, attached: Sequence[StagedFile] = ()
) -> Any:
    doctors = booking.bookable_doctors(appeal.patient)
    chosen = form.get("consultant") or request.args.get("consultant") or g.staff.id
    consultant = next((d for d in doctors if d.id == chosen), None)
    slots = service.free_slots(consultant.id) if consultant else []
    days = [(day, list(day_slots)) for day, day_slots in groupby(slots, key=_local_day)]
    return render_template(
        "central/routing/booking_form.html",
        title=_("Запись на консультацию"),
        appeal=appeal,
        form=form,
        doctors=doctors,
        consultant=consultant,
        days=days,
        error=error,
        consent_at=form.get("consent_at") or _now_local(),
        attached=attached,
        attached_token=files.carry(attached, g.staff),
        max_files=files.MAX_FILES,
    ), (400 if error else 200)


def _now_local() -> str:
    """Now in the consultant's zone, as a datetime-local field shows it."""
    now = to_local(utcnow())
    return now.strftime("%Y-%m-%dT%H:%M") if now else ""


@bp.route("/appeals/<appeal_id>/routing/booking", methods=["GET", "POST"], endpoint="booking")
@login_required(Role.CONSULTANT)
def booking_page(appeal_id: str) -> Any:
    appeal = service.routable_appeal(g.staff, appeal_id)
    form = request.form
    step = form.get("step")
    attached: list[StagedFile] = []
    try:
        attached = files.carried(form.get("attached", ""), g.staff)
        if request.method == "POST" and step != _CREATE:
            # «Далее» or «Изменить»: files may have been added or removed.
            attached = files.update(
                attached, dropped=form.getlist("drop"), uploads=request.files.getlist("files")
            )
        if request.method == "GET" or step not in (_REVIEW, _CREATE):
            return _booking_form(appeal, form, attached=attached)
        draft = booking.read_booking(
            appeal.patient, form, kind=AppealKind.REPEAT, contact_mode=appeal.contact_mode, attached=attached
        )
        if step == _REVIEW:
            return render_template(
                "central/routing/booking_review.html",
                title=_("Запись на консультацию"),
                appeal=appeal,
                form=form,
                draft=draft,
                attached_token=files.carry(attached, g.staff),
            )
        booking.book(g.staff, draft)
    except USER_ERRORS as exc:
        return _booking_form(appeal, form, translate_error(exc), attached)
    when = to_local(draft.slot.starts_at)
    flash(
        _(
            "Обращение создано: %(doctor)s, %(time)s; оно будет доступно на ФАП после синхронизации",
            doctor=draft.consultant.full_name,
            time=when.strftime("%d.%m.%Y %H:%M") if when else "",
        ),
        "success",
    )
    return redirect(url_for("routing.routing", appeal_id=appeal.id))


# --- the same operations as JSON ---------------------------------------------------------


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError(N_("Ожидался JSON-объект в теле запроса"))
    return body


def _referral_json(referral: Referral) -> dict[str, Any]:
    return {
        "id": referral.id,
        "patient": referral.patient_id,
        "post": referral.post_id,
        "specialty": referral.specialty_id,
        "consultant": staff_json(referral.consultant) if referral.consultant_id else None,
        "valid_until": iso(referral.valid_until),
        "diagnoses": referral.diagnoses,
        "justification": referral.justification,
        "source_appeal": referral.source_appeal_id,  # type: ignore[attr-defined]  # not annotated in sync
        "status": referral.status,
    }


@bp.post("/api/v1/appeals/<appeal_id>/referrals")
@login_required(Role.CONSULTANT)
def api_referral(appeal_id: str) -> Any:
    """«Создание направления».
    ---
    post:
      summary: Issue a referral from an appeal in work or closed (to a specialty or a chosen doctor)
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [specialty, justification]
              properties:
                specialty: {type: string, description: specialty id}
                consultant: {type: string, description: "a doctor of that specialty (optional)"}
                valid_until: {type: string, format: date}
                indefinite: {type: boolean, description: "«Бессрочно» instead of valid_until"}
                diagnoses: {type: string, description: possible diseases}
                justification: {type: string}
      responses:
        201: {description: the referral; it reaches the post with its next sync}
        400:
          description: invalid
          content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
        403: {description: not this consultant's appeal}
        404: {description: not found, not visible, or not in work/closed}
    """
    appeal = service.routable_appeal(g.staff, appeal_id)
    referral = service.create_referral(g.staff, appeal, service.read_referral(appeal, _json_body()))
    return jsonify(_referral_json(referral)), 201


@bp.post("/api/v1/appeals/<appeal_id>/bookings")
@login_required(Role.CONSULTANT)
def api_booking(appeal_id: str) -> Any:
    """«Запись на консультацию».
    ---
    post:
      summary: Book the patient into a free slot of this or another consultant (creates a new appeal)
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [consultant, slot, question, consent_by]
              properties:
                consultant: {type: string}
                slot: {type: string}
                question: {type: string, description: the text of the new appeal}
                consent_by:
                  type: string
                  enum: [patient, representative]
                  description: "who gave the ИДС to the new consultation (under 15: representative)"
                consent_name: {type: string, description: "the representative (default: the one on the card)"}
                consent_at: {type: string, format: date-time, description: "when it was given (default: now)"}
      responses:
        201: {description: the new appeal; it reaches the post with its next sync}
        400:
          description: "invalid, no ИДС, an age the doctor's specialty does not accept, or the slot is taken"
          content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
        403: {description: not this consultant's appeal}
        404: {description: not found, not visible, or not in work/closed}
    """
    appeal = service.routable_appeal(g.staff, appeal_id)
    draft = booking.read_booking(
        appeal.patient, _json_body(), kind=AppealKind.REPEAT, contact_mode=appeal.contact_mode
    )
    created = booking.book(g.staff, draft)
    return jsonify(appeal_json(created, utcnow())), 201
