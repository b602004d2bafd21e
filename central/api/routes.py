from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request

from central.appeals import service
from central.auth import passwords
from central.auth.routes import check_central_login
from central.auth.sessions import keep_only_this_session
from sync.clock import utcnow
from sync.errors import N_, ValidationError
from sync.models import Role
from web import audit
from web.auth import login_required
from web.openapi import build_openapi
from web.serialize import appeal_json, protocol_json
from web.session_api import add_session_routes, json_body

from . import bp

CONSULTANT = (Role.CONSULTANT, Role.ADMIN)


add_session_routes(bp, check_central_login)


@bp.post("/profile/password")
@login_required()
def change_password() -> Any:
    """Change one's own password (required first after an administrator's reset).
    ---
    post:
      summary: Change one's own password
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [current, password, repeat]
              properties: {current: {type: string}, password: {type: string}, repeat: {type: string}}
      responses:
        204: {description: changed; the user's other sessions ended}
        400:
          description: wrong current password, or a new one the policy refuses
          content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
    """
    data = json_body()
    passwords.change_password(
        g.staff, str(data.get("current", "")), str(data.get("password", "")), str(data.get("repeat", ""))
    )
    keep_only_this_session(g.staff)
    return "", 204


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(build_openapi(current_app, "faplink central API"))


@bp.get("/appeals")
@login_required(*CONSULTANT)
def appeals() -> Any:
    """The consultant's queues.
    ---
    get:
      summary: Appeals in one queue («Новые обращения», «В работе», «Закрытые обращения»)
      parameters:
        - {name: queue, in: query, schema: {type: string, enum: [new, overdue, in_work, closed]}}
      responses:
        200: {description: "appeals and the counters of every queue"}
    """
    name = request.args.get("queue", "new")
    if name not in ("new", "overdue", "in_work", "closed"):
        raise ValidationError(N_("Неизвестный список обращений: %(name)s"), field="queue", name=name)
    now = utcnow()
    queues = service.queues(g.staff, now)
    items = getattr(queues, name)
    if name == "new":
        items = queues.overdue + queues.new
    return jsonify(appeals=[appeal_json(a, now) for a in items], counts=queues.counts())


@bp.get("/appeals/<appeal_id>")
@login_required(*CONSULTANT)
def appeal(appeal_id: str) -> Any:
    """One appeal with its patient, text, protocol and files.
    ---
    get:
      summary: An appeal in detail
      responses:
        200: {description: the appeal}
        404: {description: not found or not visible to this consultant}
    """
    item = service.visible_appeal(g.staff, appeal_id)
    audit.viewed(item)
    return jsonify(appeal_json(item, utcnow(), detail=True))


@bp.post("/appeals/<appeal_id>/take")
@login_required(*CONSULTANT)
def take(appeal_id: str) -> Any:
    """«Взять в работу».
    ---
    post:
      summary: Take an appeal in work (no earlier than 15 minutes before its slot)
      responses:
        200: {description: the appeal, now in work}
        409: {description: "too early, or no longer new", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    """
    appeal = service.take(g.staff, appeal_id)
    return jsonify(appeal_json(appeal, utcnow(), detail=True))


@bp.post("/appeals/<appeal_id>/protocol")
@login_required(*CONSULTANT)
def send_protocol(appeal_id: str) -> Any:
    """«Отправить протокол».
    ---
    post:
      summary: Send the protocol and close the appeal
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [recommendations]
              properties:
                anamnesis: {type: string}
                recommendations: {type: string}
                additional_recommendations: {type: string}
                diagnoses:
                  type: array
                  description: >
                    МКБ-10 diagnoses (national edition, НСИ OID 1.2.643.5.1.13.13.11.1005): codes in force at the
                    most detailed level (J18.9, not J18). Exactly one has role «main»; without a role the first
                    is main and the others concomitant. An empty title takes the classifier's.
                  items:
                    type: object
                    required: [code]
                    properties:
                      code: {type: string}
                      title: {type: string}
                      role: {type: string, enum: [main, concomitant, complication], description: "основной, сопутствующий, осложнение основного"}
      responses:
        201: {description: the protocol}
        400: {description: "invalid (no recommendations, a code that is not a diagnosis in force, not exactly one main diagnosis)", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
        409: {description: "the appeal is not in work"}
    """
    data = json_body()
    raw = data.get("diagnoses") or []
    if not isinstance(raw, list) or not all(isinstance(d, dict) for d in raw):
        raise ValidationError(N_("Диагнозы должны быть списком объектов {code, title, role}"), field="diagnoses")
    protocol = service.send_protocol(
        g.staff,
        appeal_id,
        anamnesis=str(data.get("anamnesis", "")),
        recommendations=str(data.get("recommendations", "")),
        additional_recommendations=str(data.get("additional_recommendations", "")),
        diagnoses=[(str(d.get("code", "")), str(d.get("title", "")), str(d.get("role") or "")) for d in raw],
    )
    return jsonify(protocol_json(protocol)), 201


@bp.get("/appeals/<appeal_id>/protocol.pdf")
@login_required(*CONSULTANT)
def protocol_pdf(appeal_id: str) -> Any:
    """«Скачать протокол».
    ---
    get:
      summary: The protocol as PDF
      responses:
        200: {description: the PDF, content: {application/pdf: {}}}
        404: {description: no protocol yet}
    """
    item = service.visible_appeal(g.staff, appeal_id)
    data = service.protocol_pdf_bytes(item)
    audit.protocol_downloaded(item)
    return Response(data, mimetype="application/pdf")
