"""«Нужна помощь» for consultants, and «Обращения в поддержку» for administrators and engineers."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import translate_error

from . import SUPPORT_PHONE, SUPPORT_STAFF, bp, service


def _help_page(error: str | None = None, which: str = "") -> Any:
    return render_template(
        "central/support/help.html",
        title=_("Нужна помощь"),
        support_phone=SUPPORT_PHONE,
        form=request.form,
        error=error,
        which=which,
    ), (400 if error else 200)


@bp.get("/help", endpoint="help")
@login_required()
def help_page() -> Any:
    return _help_page()


@bp.post("/callback")
@login_required()
def callback() -> Any:
    try:
        service.request_callback(g.staff, request.form.get("phone", ""), request.form.get("comment", ""))
    except USER_ERRORS as exc:
        return _help_page(translate_error(exc), "callback")
    flash(_("Заявка на звонок принята: с вами свяжутся в течение 10 минут"), "success")
    return redirect(url_for("support.help"))


@bp.post("/feedback")
@login_required()
def feedback() -> Any:
    try:
        service.leave_feedback(g.staff, request.form.get("message", ""))
    except USER_ERRORS as exc:
        return _help_page(translate_error(exc), "feedback")
    flash(_("Спасибо! Сообщение отправлено в поддержку"), "success")
    return redirect(url_for("support.help"))


@bp.get("/")
@login_required(*SUPPORT_STAFF)
def requests() -> Any:
    status = request.args.get("status", "new")
    if status not in service.STATUS_FILTERS:
        status = "new"
    return render_template(
        "central/support/requests.html",
        title=_("Обращения в поддержку"),
        items=service.requests_list(status),
        status=status,
    )


@bp.post("/<request_id>/done")
@login_required(*SUPPORT_STAFF)
def done(request_id: str) -> Any:
    try:
        service.mark_done(request_id, g.staff)
        flash(_("Обращение отмечено выполненным"), "success")
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
    return redirect(url_for("support.requests", status=request.args.get("status", "new")))
