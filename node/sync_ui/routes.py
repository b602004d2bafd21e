from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from web.auth import login_required

from ..auth.routes import NODE_ROLES
from ..syncing import sync_client, sync_worker
from . import bp
from .truth import forget_counts, post_state


@bp.app_context_processor
def sync_bar() -> dict[str, Any]:
    return {"sync_status": sync_client().status, "post_state": post_state}


@bp.post("/sync/now")
@login_required(*NODE_ROLES)
def sync_now() -> Any:
    sync_worker().trigger()
    forget_counts()
    flash(_("Синхронизация запущена"), "success")
    target = request.form.get("next") or ""
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("appeals.queue")
    return redirect(target)


@bp.get("/sync")
@login_required(*NODE_ROLES)
def status() -> Any:
    forget_counts()
    return render_template(
        "node/sync_status.html",
        title=_("Синхронизация"),
        status=sync_client().refresh_queues(),
        truth=post_state(),
    )
