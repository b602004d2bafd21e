"""«Нужна помощь» page and its JSON API (/api/v1/support)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from domain.models import SupportKind
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import translate_error
from web.serialize import iso
from web.session_api import json_body

from ..auth.routes import NODE_ROLES
from ..syncing import reached_centre
from . import SUPPORT_PHONE, bp, service


@bp.route("/support", methods=["GET", "POST"])
@login_required(*NODE_ROLES)
def index() -> Any:
    errors: dict[str, str] = {}
    if request.method == "POST":
        kind = request.form.get("kind", "")
        text = request.form.get("comment" if kind == SupportKind.CALLBACK else "text", "")
        try:
            service.request_help(g.staff, kind, text, request.form.get("phone", ""))
        except USER_ERRORS as exc:
            errors[kind] = translate_error(exc)
        else:
            if kind == SupportKind.CALLBACK:
                flash(
                    _("Заявка на звонок принята: с вами свяжутся в течение 10 минут после связи с центром"),
                    "success",
                )
            else:
                flash(_("Сообщение принято: спасибо!"), "success")
            return redirect(url_for("support.index"))
    return render_template(
        "node/support/index.html",
        title=_("Нужна помощь"),
        phone=SUPPORT_PHONE,
        errors=errors,
        form=request.form,
        requests=service.mine(g.staff),
        reached=reached_centre,
    ), (400 if errors else 200)


@bp.post("/api/v1/support")
@login_required(*NODE_ROLES)
def api_create() -> Any:
    """«Заказать звонок» or «Оставить сообщение».
    ---
    post:
      summary: Ask support for a callback (phone and comment) or leave feedback; queued until the link is up
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [kind, text]
              properties:
                kind: {type: string, enum: [callback, feedback]}
                phone: {type: string, description: "required for a callback"}
                text: {type: string}
      responses:
        201: {description: stored and queued}
        400: {description: "missing phone or text, or a phone that is not Russian", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    """  # noqa: E501
    data = json_body()
    item = service.request_help(
        g.staff, str(data.get("kind", "")), str(data.get("text", "")), str(data.get("phone", ""))
    )
    return jsonify(id=item.id, kind=item.kind, phone=item.phone, created_at=iso(item.created_at)), 201


@bp.get("/api/v1/support")
@login_required(*NODE_ROLES)
def api_list() -> Any:
    """My support requests.
    ---
    get:
      summary: The feldsher's recent support requests and whether each has reached the centre
      responses:
        200: {description: requests}
    """
    return jsonify(
        requests=[
            {
                "id": r.id,
                "kind": r.kind,
                "phone": r.phone,
                "text": r.text,
                "status": r.status,
                "created_at": iso(r.created_at),
                "reached_centre": reached_centre(r.seq, r.changed_by),
            }
            for r in service.mine(g.staff)
        ]
    )
