"""«Расписание»: the templates list with its switches, the template form, and «График»."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from domain.models import Role, ScheduleTemplate, Staff
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import translate_error

from . import bp, service
from .forms import TemplateForm, plan_from_form
from .rules import SLOT_LENGTHS, WEEKDAYS, TemplatePlan

#: A consultant keeps their own schedule; an administrator may keep anyone's.
MAY_EDIT = (Role.CONSULTANT, Role.ADMIN)


def _owner() -> Staff | None:
    """Whose schedule this is: the consultant themself, or the one an administrator chose."""
    if g.staff.role == Role.CONSULTANT:
        return g.staff  # type: ignore[no-any-return]
    chosen = request.values.get("consultant")
    if not chosen:
        return None
    owner = Staff.get_or_none(
        (Staff.id == chosen) & (Staff.role == Role.CONSULTANT) & (Staff.deleted == False)  # noqa: E712
    )
    if owner is None:
        abort(404)
    return owner  # type: ignore[no-any-return]


def _owner_args(owner: Staff) -> dict[str, str]:
    """What every link must carry so that an administrator stays on the chosen schedule."""
    return {} if owner.id == g.staff.id else {"consultant": owner.id}


def _back_to_templates(owner: Staff) -> Any:
    return redirect(url_for("schedules.templates", **_owner_args(owner)))  # type: ignore[arg-type]


def _required_owner() -> Staff:
    owner = _owner()
    if owner is None:
        abort(404)
    return owner


def _template(owner: Staff, template_id: str) -> ScheduleTemplate:
    template = service.template_of(owner, template_id)
    if template is None:
        abort(404)
    return template


def _flash_kept(change: service.ScheduleChange) -> None:
    if change.kept_booked:
        flash(
            _(
                "Слоты с записанными пациентами сохранены: %(count)s. Если приёма не будет, "
                "свяжитесь с постами, чтобы перенести эти записи",
                count=change.kept_booked,
            ),
            "error",
        )


@bp.get("/")
@login_required(*MAY_EDIT)
def templates() -> Any:
    owner = _owner()
    if owner is None:
        consultants = (
            Staff.live()
            .where((Staff.role == Role.CONSULTANT) & (Staff.active == True))  # noqa: E712
            .order_by(Staff.last_name, Staff.first_name)
        )
        return render_template(
            "central/schedules/choose.html", title=_("Расписание"), consultants=list(consultants)
        )
    rows = [(t, TemplatePlan.of(t).describe()) for t in service.templates_of(owner)]
    return render_template(
        "central/schedules/templates.html",
        title=_("Расписание"),
        owner=owner,
        owner_args=_owner_args(owner),
        rows=rows,
        weekday_names=dict(WEEKDAYS),
        tab="templates",
    )


def _render_form(
    owner: Staff, form: TemplateForm, template: ScheduleTemplate | None, error: str | None
) -> Any:
    return render_template(
        "central/schedules/form.html",
        title=template.name if template else _("Новый шаблон"),
        owner=owner,
        owner_args=_owner_args(owner),
        form=form,
        template=template,
        error=error,
        slot_lengths=SLOT_LENGTHS,
        confirm_delete=template is not None and request.args.get("delete") == "1",
        tab="templates",
    ), (400 if error else 200)


@bp.route("/new", methods=["GET", "POST"])
@login_required(*MAY_EDIT)
def new() -> Any:
    owner = _required_owner()
    if request.method == "GET":
        today = service.local_today(service.zone_of(owner.timezone))
        return _render_form(owner, TemplateForm.blank(today), None, None)
    form = TemplateForm.posted(request.form)
    if request.form.get("action") == "grid":
        return _render_form(owner, form, None, None)  # «Обновить сетку» without JS
    try:
        template = service.create_template(owner, plan_from_form(form))
    except USER_ERRORS as exc:
        return _render_form(owner, form, None, translate_error(exc))
    flash(
        _(
            "Шаблон «%(name)s» сохранён. Чтобы он заработал, активируйте его переключателем",
            name=template.name,
        ),
        "success",
    )
    return _back_to_templates(owner)


@bp.route("/<template_id>", methods=["GET", "POST"])
@login_required(*MAY_EDIT)
def edit(template_id: str) -> Any:
    owner = _required_owner()
    template = _template(owner, template_id)
    if request.method == "GET":
        return _render_form(owner, TemplateForm.of(template), template, None)
    form = TemplateForm.posted(request.form)
    if request.form.get("action") == "grid":
        return _render_form(owner, form, template, None)
    try:
        change = service.update_template(template, plan_from_form(form))
    except USER_ERRORS as exc:
        return _render_form(owner, form, template, translate_error(exc))
    if template.active:
        flash(
            _(
                "Шаблон «%(name)s» сохранён, его слоты обновлены: создано %(count)s",
                name=template.name,
                count=change.created,
            ),
            "success",
        )
    else:
        flash(_("Шаблон «%(name)s» сохранён", name=template.name), "success")
    _flash_kept(change)
    return _back_to_templates(owner)


@bp.post("/<template_id>/toggle")
@login_required(*MAY_EDIT)
def toggle(template_id: str) -> Any:
    owner = _required_owner()
    template = _template(owner, template_id)
    try:
        if template.active:
            change = service.deactivate(template)
            flash(
                _(
                    "Шаблон «%(name)s» деактивирован: удалено свободных слотов — %(count)s",
                    name=template.name,
                    count=change.removed,
                ),
                "success",
            )
            _flash_kept(change)
        else:
            change = service.activate(template)
            if change.created:
                message = _(
                    "Шаблон «%(name)s» активирован: создано слотов — %(count)s",
                    name=template.name,
                    count=change.created,
                )
            else:
                message = _(
                    "Шаблон «%(name)s» активирован, но новых слотов нет: его даты и часы уже прошли "
                    "или заняты другими слотами",
                    name=template.name,
                )
            flash(message, "success")
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
    return _back_to_templates(owner)


@bp.post("/<template_id>/delete")
@login_required(*MAY_EDIT)
def delete(template_id: str) -> Any:
    owner = _required_owner()
    template = _template(owner, template_id)
    change = service.delete_template(template)
    flash(_("Шаблон «%(name)s» удалён", name=template.name), "success")
    _flash_kept(change)
    return _back_to_templates(owner)


@bp.get("/day")
@login_required(*MAY_EDIT)
def day() -> Any:
    """«График»: the slots of a chosen date, free or booked."""
    owner = _required_owner()
    today = service.local_today(service.zone_of(owner.timezone))
    try:
        chosen = date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        chosen = today
    return render_template(
        "central/schedules/day.html",
        title=_("График"),
        owner=owner,
        owner_args=_owner_args(owner),
        chosen=chosen,
        today=today,
        previous=chosen - timedelta(days=1),
        following=chosen + timedelta(days=1),
        slots=service.day_schedule(owner, chosen),
        tab="day",
    )
