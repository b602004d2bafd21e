from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request

from central.appeals import paging, service
from central.appeals.filters import QueueFilter
from central.auth import passwords
from central.auth.routes import check_central_login
from central.auth.sessions import keep_only_this_session
from domain.errors import ValidationError
from domain.models import Role
from domain.models.appeal_queries import QUEUE_LISTS
from i18n import N_
from sync.clock import utcnow
from web import audit
from web.auth import login_required
from web.i18n import user_timezone
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


#: The API's lists: ``new`` is every new appeal by deadline, the overdue ones first.
API_LISTS = {"new": "all_new", "overdue": "overdue", "in_work": "in_work", "closed": "closed"}


@bp.get("/appeals")
@login_required(*CONSULTANT)
def appeals() -> Any:
    """The consultant's queues, a page at a time.
    ---
    get:
      summary: Appeals in one queue («Новые обращения», «В работе», «Закрытые обращения»), a page at a time
      description: >
        The queue is the status filter: `new` (every new appeal by deadline, the overdue ones first),
        `overdue`, `in_work` (by deadline) or `closed` (the last closed first). A page holds up to
        `limit` appeals; `next` is an opaque cursor: pass it back as `after` for the next page, and
        the same queue and filters. Pages follow the position, not an offset, so an appeal that
        changes meanwhile is neither shown twice nor skipped by the pages after it. A cursor that
        was altered, or made for another queue, is refused with 400.
      parameters:
        - {name: queue, in: query, schema: {type: string, enum: [new, overdue, in_work, closed], default: new}}
        - {name: after, in: query, description: "the `next` cursor of the previous page", schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 200, default: 25}}
        - {name: form_of_care, in: query, schema: {type: string, enum: [emergency, urgent, planned]}}
        - {name: specialty, in: query, description: a specialty's id, schema: {type: string}}
        - {name: post, in: query, description: a post's id, schema: {type: string}}
        - {name: date, in: query, description: "reception day (or the day made, without a slot), user's zone", schema: {type: string, format: date}}
        - {name: due_by, in: query, description: "deadline on this day (user's zone) or earlier", schema: {type: string, format: date}}
      responses:
        200:
          description: a page of appeals and the counters of the queues
          content:
            application/json:
              schema:
                type: object
                properties:
                  appeals: {type: array, items: {type: object}}
                  next: {type: string, nullable: true, description: "cursor of the next page; null on the last"}
                  counts:
                    type: object
                    description: >
                      appeals per queue under the same filters (`new` with the overdue ones,
                      `new_not_overdue` without), exact up to `count_limit`; `count_limit` + 1 means more
                    additionalProperties: {type: integer}
                  count_limit: {type: integer}
        400:
          description: "an unknown queue, a bad filter or limit, a cursor altered or of another queue"
          content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
    """
    name = request.args.get("queue", "new")
    if name not in API_LISTS:
        raise ValidationError(N_("Неизвестный список обращений: %(name)s"), field="queue", name=name)
    queue_list = QUEUE_LISTS[API_LISTS[name]]
    limit = _limit(request.args.get("limit"))
    filters = QueueFilter.from_args(request.args, user_timezone())
    cursors = paging.Cursors(current_app.secret_key or "")
    after = request.args.get("after")
    position = cursors.decode(after, queue_list) if after else None
    now = utcnow()
    page = paging.page(g.staff, queue_list, now, filters=filters, after=position, limit=limit)
    return jsonify(
        appeals=[appeal_json(a, now) for a in page.appeals],
        next=cursors.encode(queue_list, page.next) if page.next else None,
        counts=paging.counts(g.staff, now, filters),
        count_limit=paging.COUNT_LIMIT,
    )


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return paging.PAGE_SIZE
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= paging.MAX_PAGE_SIZE:
        raise ValidationError(
            N_("Размер страницы — число от 1 до %(max)s"), field="limit", max=paging.MAX_PAGE_SIZE
        )
    return limit


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
