"""«Доступ МИС (FHIR)»: the administrator issues a region's МИС its token, sees when it was
last used, and revokes it. The same as `faplink central fhir-token` on the command line."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from domain.models import Region, Role
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import translate_error

from . import tokens

__all__ = ["admin_bp"]

admin_bp = Blueprint("fhir_admin", __name__, url_prefix="/admin/fhir-tokens", template_folder="../templates")


def _page(new_token: str = "", error: str = "", status: int = 200) -> Any:
    regions = {r.id: r.name for r in Region.live().order_by(Region.name)}
    rows = list(tokens.FhirToken.select().order_by(tokens.FhirToken.created_at.desc()))
    return render_template(
        "central/admin/fhir_tokens.html",
        title=_("Доступ МИС (FHIR)"),
        rows=rows,
        regions=regions,
        new_token=new_token,
        error=error,
        form=request.form if error else {},
    ), status


@admin_bp.get("")
@login_required(Role.ADMIN)
def index() -> Any:
    return _page()


@admin_bp.post("")
@login_required(Role.ADMIN)
def issue() -> Any:
    """«Выпустить токен»: shown once on the answer page, never again."""
    try:
        row, token = tokens.issue(
            request.form.get("name", ""), request.form.get("region", ""), created_by=g.staff.id
        )
    except USER_ERRORS as exc:
        return _page(error=translate_error(exc), status=400)
    flash(
        _("Токен для «%(name)s» выпущен: сохраните его в МИС, он показан один раз", name=row.name), "success"
    )
    return _page(new_token=token)


@admin_bp.post("/<token_id>/revoke")
@login_required(Role.ADMIN)
def revoke(token_id: str) -> Any:
    try:
        row = tokens.revoke(token_id)
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
    else:
        flash(_("Токен «%(name)s» отозван", name=row.name), "success")
    return redirect(url_for("fhir_admin.index"))
