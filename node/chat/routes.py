from __future__ import annotations

from typing import Any

from flask import (
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from domain.models import Appeal, Attachment, ChatMessage
from web import audit
from web.auth import login_required
from web.chat import file_download, message_from_request, messages
from web.errors import USER_ERRORS
from web.i18n import translate_error
from web.serialize import chat_message_json

from ..appeals.service import post_appeal
from ..auth.routes import NODE_ROLES
from ..syncing import reached_centre
from . import bp, service


def _send_soon() -> None:
    worker = current_app.extensions.get("sync_worker")
    if worker is not None:
        worker.trigger()


# -- what the appeal page shows -------------------------------------------------------


@bp.app_template_global()
def chat_may_write(appeal: Appeal) -> bool:
    return service.may_write(appeal)


@bp.app_template_global()
def chat_appeal_files(appeal: Appeal) -> list[Attachment]:
    return service.appeal_files(appeal)


@bp.app_template_global()
def chat_delivered(message: ChatMessage) -> bool:
    """Whether the message has reached the centre (messages from the centre always have)."""
    return reached_centre(message.seq, message.changed_by)


@bp.app_template_global()
def chat_preview_url(attachment: Attachment) -> str | None:
    """The kiosk's own viewer for a file (no program needed), where the node has one."""
    try:
        return url_for("exams.attachment_preview", attachment_id=attachment.id)
    except BuildError:
        return None


@bp.app_template_global()
def chat_side() -> str:
    return "post"


# -- pages ------------------------------------------------------------------------------


@bp.post("/appeals/<appeal_id>/chat")
@login_required(*NODE_ROLES)
def send(appeal_id: str) -> Any:
    """The chat form without JavaScript: store here, send with the next sync, back to the appeal."""
    post_appeal(appeal_id)  # 404 before anything is tried
    try:
        service.post_message(g.staff, appeal_id, *message_from_request())
        _send_soon()
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
    return redirect(url_for("appeals.detail", appeal_id=appeal_id) + "#chat")


@bp.get("/appeals/<appeal_id>/chat")
@login_required(*NODE_ROLES)
def messages_fragment(appeal_id: str) -> Any:
    appeal = post_appeal(appeal_id)
    return render_template("web/_appeal_chat.html", appeal=appeal, chat_fragment=messages(appeal))


@bp.get("/appeals/<appeal_id>/files/<attachment_id>")
@login_required(*NODE_ROLES)
def file(appeal_id: str, attachment_id: str) -> Any:
    attachment = service.appeal_file(appeal_id, attachment_id)
    audit.viewed(attachment, audit.AccessAction.DOWNLOAD)
    return file_download(attachment, _("Файл придёт с ближайшей синхронизацией"))


# -- JSON API ---------------------------------------------------------------------------


def _message_json(message: ChatMessage) -> dict[str, Any]:
    return chat_message_json(message) | {"delivered": chat_delivered(message)}


@bp.get("/api/v1/appeals/<appeal_id>/messages")
@login_required(*NODE_ROLES)
def api_messages(appeal_id: str) -> Any:
    """The appeal's chat.
    ---
    get:
      summary: "Messages of the appeal's chat, oldest first; `delivered` is false until a message
        written here has reached the centre"
      responses:
        200: {description: "messages, and whether the post may write now"}
        404: {description: not an appeal of this post}
    """
    appeal = post_appeal(appeal_id)
    return jsonify(
        messages=[_message_json(m) for m in messages(appeal)],
        may_write=service.may_write(appeal),
    )


@bp.post("/api/v1/appeals/<appeal_id>/messages")
@login_required(*NODE_ROLES)
def api_post_message(appeal_id: str) -> Any:
    """Write in the appeal's chat.
    ---
    post:
      summary: "A message (text, a file, or both), stored at once and sent with the next sync"
      requestBody:
        content:
          application/json:
            schema: {type: object, required: [text], properties: {text: {type: string}}}
          multipart/form-data:
            schema:
              type: object
              properties: {text: {type: string}, file: {type: string, format: binary}}
      responses:
        201: {description: the message}
        400:
          description: "empty, or the file is refused"
          content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
        404: {description: not an appeal of this post}
        409:
          description: "the appeal is not in work"
          content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
    """
    message = service.post_message(g.staff, appeal_id, *message_from_request())
    _send_soon()
    return jsonify(_message_json(message)), 201
