"""The consultant's view of a post's link: on the appeal page and in the JSON API."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify

from central.appeals import service
from domain.models import Appeal, Role
from web.auth import login_required

from . import bp
from .store import MODE_LABELS, STALE_AFTER, LinkState, latest_for_post

CONSULTANT = (Role.CONSULTANT, Role.ADMIN)


def post_link(appeal: Appeal) -> LinkState | None:
    """The link of the post an appeal came from, as its kiosk last measured it."""
    return latest_for_post(appeal.post_id, prefer_node=appeal.origin)


@bp.app_context_processor
def link_helpers() -> dict[str, Any]:
    return {
        "post_link": post_link,
        "link_mode_labels": MODE_LABELS,
        "link_stale_minutes": int(STALE_AFTER.total_seconds() // 60),
    }


@bp.get("/appeals/<appeal_id>/link")
@login_required(*CONSULTANT)
def appeal_link(appeal_id: str) -> Any:
    """«Связь с ФАП»: which mode the post of an appeal can sustain.
    ---
    get:
      summary: The post's link as its kiosk last measured it, and the consultation mode it offers
      description: >
        mode is video, audio, chat or deferred (store-and-forward); it is deferred when the
        measurement is older than 15 minutes (stale). null when the post never measured.
      responses:
        200:
          description: >
            {link: {mode, measured_mode, stale, node_id, rtt_ms, down_kbps, up_kbps, loss_pct,
            measured_at, error}}, link null if the post never measured
        404: {description: not found or not visible to this consultant}
    """
    state = post_link(service.visible_appeal(g.staff, appeal_id))
    return jsonify(link=None if state is None else state.as_dict())
