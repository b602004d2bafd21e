from __future__ import annotations

from typing import Any

from flask import (
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _

from domain.models import Appeal, Attachment, ChatMessage, Role
from web import audit
from web.auth import login_required
from web.chat import file_download, message_from_request, messages
from web.errors import USER_ERRORS
from web.i18n import translate_error
from web.serialize import chat_message_json

from ..appeals.service import visible_appeal
from . import bp, service

CONSULTANT = (Role.CONSULTANT, Role.ADMIN)


# -- what the appeal page shows ---------------------------------------------------


@bp.app_template_global()
def chat_may_write(appeal: Appeal) -> bool:
    return service.may_write(g.get("staff"), appeal)


@bp.app_template_global()
def chat_appeal_files(appeal: Appeal) -> list[Attachment]:
    return service.appeal_files(appeal)


@bp.app_template_global()
def chat_delivered(message: ChatMessage) -> bool:
    """Everything central holds has reached the centre."""
    return True


@bp.app_template_global()
def chat_preview_url(attachment: Attachment) -> str:
    """The file inside the page (PDF, documents, tables, text, pictures)."""
    return url_for("appeals.file_preview", appeal_id=attachment.appeal_id, attachment_id=attachment.id)


@bp.app_template_global()
def chat_side() -> str:
    return "centre"


# -- pages ------------------------------------------------------------------------


@bp.post("/appeals/<appeal_id>/chat")
@login_required(*CONSULTANT)
def send(appeal_id: str) -> Any:
    """The chat form without JavaScript: store, then back to the appeal."""
    visible_appeal(g.staff, appeal_id)  # 404 before anything is tried
    try:
        service.post_message(g.staff, appeal_id, *message_from_request())
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
    return redirect(url_for("appeals.detail", appeal_id=appeal_id) + "#chat")


@bp.get("/appeals/<appeal_id>/chat")
@login_required(*CONSULTANT)
def messages_fragment(appeal_id: str) -> Any:
    """The message list alone, for the page to refresh when the chat changes."""
    appeal = visible_appeal(g.staff, appeal_id)
    return render_template("web/_appeal_chat.html", appeal=appeal, chat_fragment=messages(appeal))


@bp.get("/appeals/<appeal_id>/files/<attachment_id>")
@login_required(*CONSULTANT)
def file(appeal_id: str, attachment_id: str) -> Any:
    attachment = service.appeal_file(g.staff, appeal_id, attachment_id)
    audit.viewed(attachment, audit.AccessAction.DOWNLOAD)
    return file_download(attachment, _("Файл придёт с ближайшей синхронизацией поста"))


# -- JSON API -----------------------------------------------------------------------


@bp.get("/api/v1/appeals/<appeal_id>/messages")
@login_required(*CONSULTANT)
def api_messages(appeal_id: str) -> Any:
    """The appeal's chat.
    ---
    get:
      summary: Messages of an appeal's chat, oldest first (for whoever may open the appeal)
      responses:
        200: {description: "messages, and whether this consultant may write"}
        404: {description: not found or not visible to this consultant}
    """
    appeal = visible_appeal(g.staff, appeal_id)
    return jsonify(
        messages=[chat_message_json(m) for m in messages(appeal)],
        may_write=service.may_write(g.staff, appeal),
    )


@bp.post("/api/v1/appeals/<appeal_id>/messages")
@login_required(*CONSULTANT)
def api_post_message(appeal_id: str) -> Any:
    """Write in the appeal's chat.
    ---
    post:
      summary: "A message (text, a file, or both) from the consultant who took the appeal in work"
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
        404: {description: not found or not visible to this consultant}
        409:
          description: "the appeal is not in work, or another consultant took it"
          content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
    """
    message = service.post_message(g.staff, appeal_id, *message_from_request())
    return jsonify(chat_message_json(message)), 201
