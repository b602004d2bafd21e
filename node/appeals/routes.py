from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template, request
from flask_babel import gettext as _

from sync.blobs import BlobStore
from sync.clock import utcnow
from web import audit
from web.auth import login_required

from ..auth.routes import NODE_ROLES
from ..syncing import reached_centre
from . import bp, service

QUEUES = ("new", "in_work", "closed")


@bp.get("/appeals")
@login_required(*NODE_ROLES)
def queue() -> Any:
    name = request.args.get("queue", "new")
    if name not in QUEUES:
        name = "new"
    lists = service.lists()
    titles = {
        "new": _("Новые обращения"),
        "in_work": _("В работе"),
        "closed": _("Закрытые обращения"),
    }
    return render_template(
        "node/queue.html",
        title=titles[name],
        queue=name,
        lists=lists,
        now=utcnow(),
        reached=reached_centre,
    )


@bp.get("/appeals/<appeal_id>")
@login_required(*NODE_ROLES)
def detail(appeal_id: str) -> Any:
    appeal = service.post_appeal(appeal_id)
    audit.viewed(appeal)
    pdf = appeal.protocol_pdf()
    blobs: BlobStore = current_app.extensions["blobs"]
    return render_template(
        "node/appeal.html",
        title=appeal.patient.full_name,
        appeal=appeal,
        protocol=appeal.current_protocol(),
        pdf=pdf,
        pdf_here=bool(pdf and blobs.has(pdf.sha256)),
        now=utcnow(),
        reached=reached_centre(appeal.seq, appeal.changed_by),
    )


@bp.get("/appeals/<appeal_id>/protocol.pdf")
@login_required(*NODE_ROLES)
def protocol_pdf(appeal_id: str) -> Any:
    appeal = service.post_appeal(appeal_id)
    pdf = appeal.protocol_pdf()
    blobs: BlobStore = current_app.extensions["blobs"]
    if pdf is None or not blobs.has(pdf.sha256):
        return render_template(
            "web/error.html",
            title=_("Протокол ещё не получен"),
            message=_("PDF протокола придёт с ближайшей синхронизацией"),
        ), 404
    inline = request.args.get("inline") == "1"
    audit.viewed(pdf, audit.AccessAction.PREVIEW if inline else audit.AccessAction.DOWNLOAD)
    disposition = "inline" if inline else "attachment"
    return Response(
        blobs.read(pdf.sha256),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'{disposition}; filename="{pdf.filename}"'},
    )
