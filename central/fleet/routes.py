"""Pages of «Парк киосков»: the kiosks' health, revoking a kiosk, enrolment tokens, bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from sync.state import KnownNode
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import translate_error

from . import FLEET_ROLES, bp, service
from .bundles import bundle_key_fingerprint, export_bundle


def _rules() -> service.AlertRules:
    config = current_app.config
    return service.AlertRules(
        not_seen_hours=float(config.get("FLEET_ALERT_HOURS", 24)),
        queue_minutes=float(config.get("FLEET_QUEUE_MINUTES", 30)),
    )


@bp.get("/")
@login_required(*FLEET_ROLES)
def index() -> Any:
    nodes = service.fleet(_rules())
    return render_template(
        "central/fleet/index.html",
        title=_("Парк киосков"),
        nodes=nodes,
        alerting=sum(1 for n in nodes if n.alerts),
        rules=_rules(),
    )


@bp.get("/nodes/<node_id>/revoke")
@login_required(*FLEET_ROLES)
def confirm_revoke(node_id: str) -> Any:
    node = KnownNode.get_or_none(KnownNode.node_id == node_id)
    if node is None:
        flash(_("Киоск не найден"), "error")
        return redirect(url_for("fleet.index"))
    view = next((v for v in service.fleet(_rules()) if v.node_id == node_id), None)
    return render_template("central/fleet/revoke.html", title=_("Отозвать доступ киоска"), node=view)


@bp.post("/nodes/<node_id>/revoke")
@login_required(*FLEET_ROLES)
def revoke(node_id: str) -> Any:
    try:
        service.revoke_node(node_id)
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
    else:
        current_app.logger.info("%s revoked node %s", g.staff.id, node_id)
        flash(_("Доступ киоска %(node)s отозван", node=node_id), "success")
    return redirect(url_for("fleet.index"))


@bp.get("/tokens")
@login_required(*FLEET_ROLES)
def tokens() -> Any:
    return _tokens_page()


def _tokens_page(**extra: Any) -> Any:
    return render_template(
        "central/fleet/tokens.html",
        title=_("Коды регистрации киосков"),
        tokens=service.tokens(),
        posts=service.posts(),
        **extra,
    )


@bp.post("/tokens")
@login_required(*FLEET_ROLES)
def issue_token() -> Any:
    form = request.form
    try:
        token = service.issue(
            form.get("organization", ""), form.get("hours", "72"), g.staff.id, form.get("note", "")
        )
    except USER_ERRORS as exc:
        return _tokens_page(error=translate_error(exc), form=form), 400
    # Shown on this page only: central keeps the token's hash, not the token.
    return _tokens_page(new_token=token)


@bp.post("/tokens/<token_hash>/revoke")
@login_required(*FLEET_ROLES)
def revoke_token(token_hash: str) -> Any:
    try:
        service.revoke_token(token_hash)
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
    else:
        flash(_("Код регистрации отозван"), "success")
    return redirect(url_for("fleet.tokens"))


@bp.get("/bundle")
@login_required(*FLEET_ROLES)
def bundle_form() -> Any:
    return render_template(
        "central/fleet/bundle.html",
        title=_("Пакет регистрации для поста без связи"),
        posts=service.posts(),
        central_url=request.host_url.rstrip("/"),
        centre_fingerprint=bundle_key_fingerprint(Path(current_app.config["DATA_DIR"])),
    )


@bp.post("/bundle")
@login_required(*FLEET_ROLES)
def bundle_download() -> Any:
    try:
        exported = export_bundle(
            Path(current_app.config["DATA_DIR"]),
            request.form.get("organization", ""),
            request.form.get("central_url", "") or request.host_url,
            created_by=g.staff.id,
        )
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
        return redirect(url_for("fleet.bundle_form"))
    current_app.logger.info("%s exported an enrolment bundle for %s", g.staff.id, exported.node_id)
    return Response(
        exported.data,
        mimetype="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
    )
