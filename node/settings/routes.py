"""«Профиль» and «Настройки» pages, and their JSON API."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _

from i18n import N_
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import translate_error
from web.session_api import json_body

from ..auth.routes import NODE_ROLES
from ..exams.devices import device_feed
from . import bp, preferences


@bp.record_once
def _side_tables(state: BlueprintSetupState) -> None:
    preferences.create_tables()


@bp.before_app_request
def _apply_timezone() -> None:
    """The zone picked at this kiosk wins over the directory's for the shown times."""
    staff = getattr(g, "staff", None)
    if staff is not None:
        zone = preferences.timezone_for(staff.id)
        if zone:
            staff.timezone = zone  # in memory only: Staff rows are central's


#: What a device link's state means, in the feldsher's words.
LINK_STATES = {
    "connected": N_("порт открыт"),
    "detected": N_("прибор найден"),
    "identified": N_("прибор опознан"),
    "not_answering": N_("прибор не отвечает"),
    "download_complete": N_("данные получены"),
    "disconnected": N_("отключён"),
    "error": N_("ошибка"),
}


def device_lines(links: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Each device the node reads as the feldsher reads it: its name, protocol and state in Russian.

    A driver's own detail is English and for the log; the page names the model the device
    gave (when identified) and what a download brought."""
    lines = []
    for link in links:
        state = str(link.get("state") or "")
        note = ""
        counts = link.get("counts") or {}
        if state == "identified":
            note = str(link.get("detail") or "")
        elif state == "download_complete" and {"stored", "new"} <= set(counts):
            note = _(
                "записей в памяти прибора: %(stored)s, новых: %(new)s",
                stored=counts["stored"],
                new=counts["new"],
            )
        lines.append(
            {
                "name": str(link.get("port") or ""),
                "protocol": str(link.get("protocol") or ""),
                "state": state,
                "state_text": _(LINK_STATES.get(state, state)),
                "note": note,
            }
        )
    return lines


def serial_ports() -> list[dict[str, str]]:
    """Serial ports present now (an empty list if they cannot be listed here)."""
    try:
        from hardware import list_ports

        return [p.as_json() for p in list_ports()]
    except Exception:  # a kiosk without serial support still shows its settings
        return []


@bp.route("/profile", methods=["GET", "POST"])
@login_required(*NODE_ROLES)
def profile() -> Any:
    error = None
    if request.method == "POST":
        try:
            preferences.set_timezone(g.staff.id, request.form.get("timezone", ""))
        except USER_ERRORS as exc:
            error = translate_error(exc)
        else:
            flash(_("Часовой пояс сохранён"), "success")
            return redirect(url_for("settings.profile"))
    identity = current_app.extensions["identity"]
    return render_template(
        "node/settings/profile.html",
        title=_("Профиль"),
        staff=g.staff,
        zones=preferences.ZONES,
        current_zone=g.staff.timezone,
        node_id=identity.node_id,
        error=error,
    ), (400 if error else 200)


@bp.get("/settings")
@login_required(*NODE_ROLES)
def index() -> Any:
    identity = current_app.extensions["identity"]
    return render_template(
        "node/settings/index.html",
        title=_("Настройки"),
        ports=serial_ports(),
        devices=device_lines(device_feed().links()),
        readings=list(device_feed().latest().values()),
        identity=identity,
        device_check=current_app.view_functions.get("settings.device_check") is not None,
    )


@bp.get("/api/v1/devices/ports")
@login_required(*NODE_ROLES)
def api_ports() -> Any:
    """Serial devices present.
    ---
    get:
      summary: Serial ports present now, with the protocol their USB adapter suggests, and each reader's link state
      responses:
        200: {description: ports and links}
    """  # noqa: E501
    return jsonify(ports=serial_ports(), links=device_feed().links())


@bp.put("/api/v1/profile")
@login_required(*NODE_ROLES)
def api_profile() -> Any:
    """Set the time zone.
    ---
    put:
      summary: The feldsher's time zone at this kiosk (times are shown in it)
      requestBody:
        content:
          application/json:
            schema: {type: object, required: [timezone], properties: {timezone: {type: string, example: Asia/Yekaterinburg}}}
      responses:
        200: {description: saved}
        400: {description: unknown zone, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    """  # noqa: E501
    data = json_body()
    preferences.set_timezone(g.staff.id, str(data.get("timezone", "")))
    return jsonify(timezone=data["timezone"])
