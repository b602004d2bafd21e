"""Serving and previewing files inside the kiosk: filed attachments and files staged in a wizard."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request, url_for

from domain.models import Attachment
from web import audit
from web.auth import login_required
from web.previews import PREVIEW_CSP, file_response, preview

from ..auth.routes import NODE_ROLES
from . import bp, files


def _file_response(sha: str, filename: str) -> Response:
    data, kind = files.read_blob(sha, filename)
    return file_response(data, filename, kind, download=request.args.get("download") == "1")


def _preview_page(sha: str, filename: str, raw_url: str, attachment: Attachment | None = None) -> Any:
    data, kind = files.read_blob(sha, filename)
    shown = preview(data, kind)
    response = Response(
        render_template(
            "node/exams/preview.html",
            title=filename,
            filename=filename,
            kind=kind,
            size=len(data),
            shown=shown,
            raw_url=raw_url,
            attachment=attachment,
            back=request.args.get("back") or request.referrer or url_for("appeals.queue"),
        )
    )
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


@bp.get("/attachments/<attachment_id>")
@login_required(*NODE_ROLES)
def attachment_preview(attachment_id: str) -> Any:
    item = files.post_attachment(attachment_id)
    audit.viewed(item, audit.AccessAction.PREVIEW)
    return _preview_page(
        item.sha256, item.filename, url_for("exams.attachment_file", attachment_id=item.id), item
    )


@bp.get("/attachments/<attachment_id>/file")
@login_required(*NODE_ROLES)
def attachment_file(attachment_id: str) -> Any:
    item = files.post_attachment(attachment_id)
    audit.viewed(item, audit.AccessAction.DOWNLOAD)
    return _file_response(item.sha256, item.filename)


@bp.get("/files/<sha>")
@login_required(*NODE_ROLES)
def staged_preview(sha: str) -> Any:
    """A file attached in a wizard but not filed yet."""
    name = request.args.get("name", "file")
    return _preview_page(sha, name, url_for("exams.staged_file", sha=sha, name=name))


@bp.get("/files/<sha>/raw")
@login_required(*NODE_ROLES)
def staged_file(sha: str) -> Any:
    return _file_response(sha, request.args.get("name", "file"))
