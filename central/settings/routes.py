"""«Настройки»: the page, its verdicts as JSON, and the two endpoints the link check measures."""

from __future__ import annotations

import os
from typing import Any

from flask import Response, jsonify, render_template, request
from flask_babel import gettext as _

from domain.errors import ValidationError
from domain.models import Role
from i18n import N_
from web.auth import login_required
from web.formats import number
from web.session_api import json_body

from . import bp, checks

CONSULTANT = (Role.CONSULTANT, Role.ADMIN)
#: What the link check downloads and uploads: big enough to time on a 10 Mbit/s line (~0.8 s).
PROBE_KB = 1024
MAX_PROBE_KB = 4096

STATUS = {checks.OK: N_("норма"), checks.WARN: N_("есть замечания"), checks.FAIL: N_("не пройдена")}
#: Badge classes of faplink.css for each status.
BADGE = {checks.OK: "synced", checks.WARN: "urgent", checks.FAIL: "overdue"}


def shown(finding: checks.Finding) -> dict[str, Any]:
    """A verdict in the user's language, as the page's script and the JSON API give it."""

    # A number is written as the user writes it: «12,5 Мбит/с» in Russian.
    params = {k: number(v, 1) if isinstance(v, float) else v for k, v in finding.params.items()}

    def text(template: str) -> str:
        return _(template) % params if template and params else _(template) if template else ""

    return {
        "name": finding.name,
        "title": _(checks.TITLES[finding.name]),
        "status": finding.status,
        "status_text": _(STATUS[finding.status]),
        "badge": BADGE[finding.status],
        "detail": text(finding.detail),
        "advice": text(finding.advice),
    }


@bp.get("/settings")
@login_required(*CONSULTANT)
def index() -> Any:
    return render_template(
        "central/settings/index.html",
        title=_("Настройки"),
        hd=checks.HD,
        probe_kb=PROBE_KB,
        min_down=checks.MIN_DOWN_MBPS,
    )


@bp.post("/api/v1/settings/checks")
@login_required(*CONSULTANT)
def api_checks() -> Any:
    """«Настройки»: verdicts on the browser's measurements.
    ---
    post:
      summary: Judge what the consultant's browser measured against the workplace requirements
      description: >
        Any of camera {width, height, fps, label} or {error}; microphone {peak 0…1, label} or
        {error}; speakers {heard}; link {live, rtt_ms, down_mbps, up_mbps} or {error}.
        Requirements: camera 1280×720 at 15 frames/s or more, internet 10 Mbit/s towards the
        consultant and 2 Mbit/s back, round trip up to 300 ms, a live (Socket.IO) connection.
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                camera: {type: object}
                microphone: {type: object}
                speakers: {type: object, properties: {heard: {type: boolean}}}
                link: {type: object}
      responses:
        200: {description: "{checks: [{name, title, status (ok|warn|fail), status_text, detail, advice}]}"}
        400:
          description: a value that cannot have been measured
          content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
    """
    return jsonify(checks=[shown(f) for f in checks.judge(json_body())])


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/v1/settings/ping")
@login_required(*CONSULTANT)
def api_ping() -> Any:
    """The link check's round trip.
    ---
    get:
      summary: An empty answer, never cached, for the browser to time its round trip to central
      responses:
        200: {description: "{ok: true}"}
    """
    return _no_store(jsonify(ok=True))


@bp.route("/api/v1/settings/probe", methods=["GET", "POST"])
@login_required(*CONSULTANT)
def api_probe() -> Any:
    """The link check's transfer.
    ---
    get:
      summary: kb kibibytes of random bytes (at most 4096), never cached, to time the download
      parameters:
        - {name: kb, in: query, schema: {type: integer, default: 1024}}
      responses:
        200: {description: the bytes}
        400: {description: kb out of range}
    post:
      summary: Receive bytes (at most 4096 KiB) to time the upload; answers how many arrived
      responses:
        200: {description: "{received: n}"}
        400: {description: too many bytes}
    """
    limit = MAX_PROBE_KB * 1024
    if request.method == "POST":
        received = len(request.get_data(cache=False))
        if received > limit:
            raise ValidationError(N_("Слишком большой пробный блок"), field="body")
        return _no_store(jsonify(received=received))
    kb = request.args.get("kb", str(PROBE_KB))
    if not kb.isdigit() or not 1 <= int(kb) <= MAX_PROBE_KB:
        raise ValidationError(N_("Размер пробного блока: от 1 до %(max)s КБ"), field="kb", max=MAX_PROBE_KB)
    # Random bytes: a compressing proxy on the way would otherwise make the link look faster.
    return _no_store(Response(os.urandom(int(kb) * 1024), mimetype="application/octet-stream"))
