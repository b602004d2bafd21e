"""Pages and API of «Аудиозвонок на телефон»: the admin's «Телефония», the consultant's own
number in «Профиль», the button on the appeal page, and /api/v1 for the same."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from domain.models import Appeal, Organization, OrgKind, Role
from web.auth import login_required
from web.errors import USER_ERRORS, error_json
from web.i18n import translate_error
from web.serialize import iso

from ..appeals.service import visible_appeal
from . import bp, service, store
from .gateway import STATE_LABELS, CallSnapshot, CallState, TelephonyError

CONSULTANT = (Role.CONSULTANT, Role.ADMIN)
ADMIN = (Role.ADMIN,)


# -- what the pages show ------------------------------------------------------------


@bp.app_template_global()
def phone_call_offer(appeal: Appeal) -> service.PhoneCallOffer:
    return service.phone_call_offer(g.get("staff"), appeal)


@bp.app_template_global()
def phone_call_state(call: CallSnapshot) -> str:
    return _(STATE_LABELS[call.state])


@bp.app_template_global()
def phone_call_error(call: CallSnapshot) -> str:
    return translate_error(call.error) if call.error else ""


@bp.app_template_global()
def phone_call_duration(call: CallSnapshot) -> str:
    minutes, seconds = divmod(call.duration_s, 60)
    return f"{minutes}:{seconds:02d}"


@bp.app_template_global()
def own_phone() -> str:
    staff = g.get("staff")
    return store.consultant_phone(staff.id) if staff is not None else ""


def call_json(entry: service.ActiveCall) -> dict[str, Any]:
    call = entry.call
    return {
        "id": call.id,
        "appeal_id": entry.appeal_id,
        "state": call.state.value,
        "state_label": _(STATE_LABELS[call.state]),
        "outcome": call.outcome,
        "message": translate_error(call.error) if call.error else None,
        "started_at": iso(call.started_at),
        "answered_at": iso(call.answered_at),
        "ended_at": iso(call.ended_at),
        "duration_s": call.duration_s,
    }


# -- «Телефония» (administration) -----------------------------------------------------


def _centres() -> list[Organization]:
    return list(Organization.live().where(Organization.kind == OrgKind.CENTRE).order_by(Organization.name))


@bp.route("/admin/telephony", methods=["GET", "POST"])
@login_required(*ADMIN)
def settings() -> Any:
    """Each centre's gateway: SIP server, account, the number patients see."""
    centres = _centres()
    chosen = request.values.get("centre") or (centres[0].id if centres else "")
    centre = next((c for c in centres if c.id == chosen), None)
    if centres and centre is None:
        abort(404)
    error = None
    if request.method == "POST" and centre is not None:
        try:
            store.save_settings(centre.id, request.form, g.staff.id, current_app.extensions["sealing_key"])
            flash(_("Телефония центра «%(name)s» сохранена", name=centre.name), "success")
            return redirect(url_for("telephony.settings", centre=centre.id))
        except USER_ERRORS as exc:
            error = translate_error(exc)
    current = store.settings_for(centre.id) if centre is not None else None
    configured = {c.id for c in centres if store.settings_for(c.id) is not None}
    return render_template(
        "central/telephony/settings.html",
        title=_("Телефония"),
        centres=centres,
        centre=centre,
        current=current,
        configured=configured,
        form=request.form if error else {},
        error=error,
        kinds=store.KINDS,
        transports=store.TRANSPORTS,
        ring_default=store.RING_DEFAULT,
    ), (400 if error else 200)


@bp.post("/admin/telephony/<centre_id>/delete")
@login_required(*ADMIN)
def delete_settings(centre_id: str) -> Any:
    store.delete_settings(centre_id)
    flash(_("Телефония центра отключена"), "success")
    return redirect(url_for("telephony.settings", centre=centre_id))


# -- «Профиль»: the consultant's own phone ------------------------------------------------


@bp.post("/profile/phone")
@login_required(*CONSULTANT)
def own_phone_save() -> Any:
    try:
        phone = store.save_consultant_phone(g.staff.id, request.form.get("phone", ""))
        flash(
            _("Ваш телефон для звонков сохранён") if phone else _("Ваш телефон для звонков удалён"), "success"
        )
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
    return redirect(url_for("profile.show") + "#own-phone")


# -- the appeal page ----------------------------------------------------------------------


@bp.post("/appeals/<appeal_id>/phone-call")
@login_required(*CONSULTANT)
def call(appeal_id: str) -> Any:
    """«Аудиозвонок на телефон» without JavaScript: start, then back to the appeal."""
    appeal = visible_appeal(g.staff, appeal_id)
    try:
        entry = service.start_phone_call(g.staff, appeal)
        # The gateway rang the consultant's phone before it returned; by now the call may
        # already be further on (or over: a busy patient line answers at once), and the
        # appeal page shows where it is. This message says what the click did.
        if entry.call.state is CallState.STARTING:
            flash(phone_call_state(entry.call), "success")
        else:
            flash(_("Звоним на ваш телефон: ответьте, и вас соединят с пациентом"), "success")
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
    return redirect(url_for("appeals.detail", appeal_id=appeal_id) + "#phone-call")


@bp.post("/appeals/<appeal_id>/phone-call/<call_id>/hang-up")
@login_required(*CONSULTANT)
def hang_up(appeal_id: str, call_id: str) -> Any:
    entry = service.find_call(g.staff, call_id)
    if entry is None or entry.appeal_id != appeal_id:
        abort(404)
    ended = service.hang_up(entry).call
    if ended.error is not None:
        flash(translate_error(ended.error), "error")
    else:
        flash(_("Звонок завершён"), "success")
    return redirect(url_for("appeals.detail", appeal_id=appeal_id) + "#phone-call")


# -- JSON API ----------------------------------------------------------------------------


@bp.get("/api/v1/appeals/<appeal_id>/phone-call")
@login_required(*CONSULTANT)
def api_offer(appeal_id: str) -> Any:
    """Whether «Аудиозвонок на телефон» is available for the appeal, and why not.
    ---
    get:
      summary: Phone call availability for an appeal
      responses:
        200:
          description: "available, the reason it is not (no gateway, no number), and the call under way"
          content:
            application/json:
              schema:
                type: object
                properties:
                  available: {type: boolean}
                  reason: {type: string, nullable: true}
                  call: {type: object, nullable: true}
    """
    offer = service.phone_call_offer(g.staff, visible_appeal(g.staff, appeal_id))
    return jsonify(
        available=offer.available,
        reason=_(offer.reason) if offer.reason else None,
        call=call_json(offer.running) if offer.running else None,
    )


@bp.post("/api/v1/appeals/<appeal_id>/phone-calls")
@login_required(*CONSULTANT)
def api_call(appeal_id: str) -> Any:
    """«Аудиозвонок на телефон».
    ---
    post:
      summary: Call the patient's phone through the centre's gateway, ringing the consultant's own first
      description: >
        The patient sees the centre's caller ID, never the consultant's number. The call goes on in
        the background: follow it at /api/v1/phone-calls/{id}. When it ends, a call log entry
        (mode "phone") is stored with the appeal and synced to the post.
      responses:
        202: {description: "the call, under way"}
        409: {description: "unavailable: no gateway for the centre, no phone number, not your appeal, or a call already under way", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
        502: {description: "the gateway failed at once (unreachable, credentials refused, line busy)", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    """  # noqa: E501
    appeal = visible_appeal(g.staff, appeal_id)
    try:
        entry = service.start_phone_call(g.staff, appeal)
    except TelephonyError as exc:
        body, _status = error_json(exc)
        return body, 502
    return jsonify(call_json(entry)), 202


def _own_call(call_id: str) -> service.ActiveCall:
    entry = service.find_call(g.staff, call_id)
    if entry is None:
        abort(404)
    return entry


@bp.get("/api/v1/phone-calls/<call_id>")
@login_required(*CONSULTANT)
def api_call_status(call_id: str) -> Any:
    """A phone call's progress.
    ---
    get:
      summary: "State (starting, calling_consultant, calling_patient, connected, ended), outcome and error"
      responses:
        200: {description: the call}
        404: {description: "unknown here, or placed by someone else"}
    """
    return jsonify(call_json(_own_call(call_id)))


@bp.post("/api/v1/phone-calls/<call_id>/hang-up")
@login_required(*CONSULTANT)
def api_hang_up(call_id: str) -> Any:
    """«Завершить звонок».
    ---
    post:
      summary: Hang up both phones (or stop the ringing); returns the ended call
      responses:
        200: {description: the call, ended}
        404: {description: "unknown here, or placed by someone else"}
    """
    return jsonify(call_json(service.hang_up(_own_call(call_id))))
