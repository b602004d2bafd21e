from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, render_template
from flask_babel import gettext as _

from domain.models import Appeal, AppealStatus
from protocol_signatures.pdf import SignedProtocol, check_signed_protocol, protocol_signature, signed_protocol
from sync.blobs import BlobStore
from web import audit
from web.auth import login_required

from ..appeals.service import post_appeal
from ..auth.routes import NODE_ROLES
from . import bp


def _blobs() -> BlobStore:
    blobs: BlobStore = current_app.extensions["blobs"]
    return blobs


def appeal_signature(appeal: Appeal) -> SignedProtocol | None:
    """A closed appeal's signed protocol, checked here against the centre's synced CA certificate."""
    if appeal.status != AppealStatus.CLOSED:
        return None
    return check_signed_protocol(appeal, _blobs())


@bp.app_context_processor
def _signature_helpers() -> dict[str, Any]:
    return {"appeal_signature": appeal_signature}


@bp.get("/appeals/<appeal_id>/signed-protocol.pdf")
@login_required(*NODE_ROLES)
def signed_protocol_pdf(appeal_id: str) -> Any:
    appeal = post_appeal(appeal_id)
    attachment = signed_protocol(appeal)
    if attachment is None:
        abort(404, description=_("Протокол ещё не подписан"))
    if not _blobs().has(attachment.sha256):
        return render_template(
            "web/error.html",
            title=_("Подписанный протокол ещё не получен"),
            message=_("Подписанный протокол придёт с ближайшей синхронизацией"),
        ), 404
    audit.viewed(attachment, audit.AccessAction.DOWNLOAD)
    return Response(
        _blobs().read(attachment.sha256),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{attachment.filename}"'},
    )


def _p7s(appeal_id: str) -> Any:
    appeal = post_appeal(appeal_id)
    attachment = protocol_signature(appeal)
    if attachment is None:
        abort(404, description=_("У протокола нет отсоединённой подписи (.p7s)"))
    if not _blobs().has(attachment.sha256):
        abort(404, description=_("Подпись протокола придёт с ближайшей синхронизацией"))
    return Response(
        _blobs().read(attachment.sha256),
        mimetype="application/pkcs7-signature",
        headers={"Content-Disposition": f'attachment; filename="{attachment.filename}"'},
    )


@bp.get("/appeals/<appeal_id>/protocol.p7s")
@login_required(*NODE_ROLES)
def protocol_p7s(appeal_id: str) -> Any:
    return _p7s(appeal_id)


@bp.get("/api/v1/appeals/<appeal_id>/protocol.p7s")
@login_required(*NODE_ROLES)
def api_protocol_p7s(appeal_id: str) -> Any:
    """«Скачать подпись»: the signed protocol's detached signature, as received from the centre.
    ---
    get:
      summary: "The signed protocol's detached CMS signature (DER): GOST R 34.10-2012 or the centre's external program"
      responses:
        200: {description: the signature, content: {application/pkcs7-signature: {}}}
        404: {description: "not this post's appeal, not signed with a detached signature, or not received yet"}
    """  # noqa: E501
    return _p7s(appeal_id)
