"""The consultant's queue pages: the first page of each list, «Показать ещё», and the rows that
changed since the page was shown (the page's script patches its lists with them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, flash, g, jsonify, render_template, request, url_for
from flask_babel import gettext as _

from domain.errors import ValidationError
from domain.models import Appeal, AppealStatus, FormOfCare, Role
from domain.models.appeal_queries import QUEUE_LISTS, QueueList
from i18n import N_
from sync.changes import latest_seq
from sync.clock import utcnow
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import translate_error, user_timezone

from . import bp, paging
from .filters import QueueFilter, post_choices, specialty_choices

CONSULTANT = (Role.CONSULTANT, Role.ADMIN)

#: The lists each queue page shows, in order.
PAGE_LISTS: dict[str, tuple[str, ...]] = {
    "new": ("overdue", "new"),
    "in_work": ("in_work",),
    "closed": ("closed",),
}
#: The counters a page shows: the menu's and its sections' («Новые обращения» apart from
#: «Просроченные» is `new_not_overdue`).
PAGE_COUNTS = ("overdue", "new_not_overdue", "new", "in_work")


def _page_name() -> str:
    name = request.args.get("queue", "new")
    return name if name in PAGE_LISTS else "new"


def _filters() -> QueueFilter:
    return QueueFilter.from_args(request.args, user_timezone())


def _cursors() -> paging.Cursors:
    return paging.Cursors(current_app.secret_key or "")


def _title(name: str) -> str:
    return {
        "new": _("Новые обращения"),
        "in_work": _("В работе"),
        "closed": _("Закрытые обращения"),
    }[name]


@bp.app_template_filter("queue_count")
def queue_count(value: int) -> str:
    """A bounded count as the menu writes it: the number, or «больше 1000»."""
    if value > paging.COUNT_LIMIT:
        return _("больше %(count)s", count=paging.COUNT_LIMIT)
    return str(value)


@bp.app_template_global()
def queue_row_key(appeal: Appeal) -> str:
    """The row's place in its list as the page's script compares it (as text)."""
    queue_list = QUEUE_LISTS["closed" if appeal.status == AppealStatus.CLOSED else "all_new"]
    return paging.row_key(queue_list, appeal)


def _args(filters: QueueFilter, **more: str) -> dict[str, Any]:
    """GET parameters for an address of this queue: the filters and `more`."""
    return {**filters.as_args(), **more}


def _more(page_name: str, filters: QueueFilter, page: paging.Page) -> dict[str, str] | None:
    """«Показать ещё»: the next page's address (without a script) and its rows' (with one)."""
    if page.next is None:
        return None
    cursor = _cursors().encode(page.queue, page.next)
    args = _args(filters, queue=page_name, section=page.queue.name, after=cursor)
    return {"page": url_for("appeals.queue", **args), "rows": url_for("appeals.more_rows", **args)}


@bp.get("/appeals")
@login_required(*CONSULTANT)
def queue() -> Any:
    name = _page_name()
    try:
        filters = _filters()
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
        filters = QueueFilter(zone=user_timezone())
    seq = latest_seq()  # read first: whatever changes after it, the live patch brings
    now = utcnow()
    section, after = request.args.get("section", ""), request.args.get("after", "")
    pages: dict[str, paging.Page] = {}
    for list_name in PAGE_LISTS[name]:
        queue_list = QUEUE_LISTS[list_name]
        position = _cursors().decode(after, queue_list) if after and section == list_name else None
        pages[list_name] = paging.page(
            g.staff, queue_list, now, filters=filters, after=position, related=False
        )
    # At once for both lists; the rows show neither the named doctor nor the specialty.
    paging.with_relations([appeal for page in pages.values() for appeal in page.appeals], doctors=False)
    counts = paging.counts(g.staff, now, filters, names=PAGE_COUNTS)
    return render_template(
        "central/queue.html",
        title=_title(name),
        queue=name,
        lists={list_name: page.appeals for list_name, page in pages.items()},
        more={list_name: _more(name, filters, page) for list_name, page in pages.items()},
        continued=section if after else "",
        seq=seq,
        changes_url=url_for("appeals.changed_rows", **_args(filters, queue=name)),
        counts=counts,
        section_counts={key: queue_count(value) for key, value in counts.items()},
        now=now,
        filters=filters,
        forms_of_care=FormOfCare.ALL,
        specialties=specialty_choices(),
        posts=post_choices(),
    )


def _row(queue: QueueList, appeal: Appeal, now: datetime) -> dict[str, str]:
    return {
        "id": appeal.id,
        "list": queue.name,
        "key": paging.row_key(queue, appeal),
        "html": render_template("central/_appeal_row.html", a=appeal, now=now),
    }


@bp.get("/appeals/more")
@login_required(*CONSULTANT)
def more_rows() -> Any:
    """«Показать ещё»: the next page of one list as rendered rows."""
    name = _page_name()
    section = request.args.get("section", "")
    if section not in PAGE_LISTS[name]:
        raise ValidationError(N_("Неизвестный список обращений: %(name)s"), field="section", name=section)
    queue_list = QUEUE_LISTS[section]
    filters = _filters()
    now = utcnow()
    position = _cursors().decode(request.args.get("after", ""), queue_list)
    page = paging.page(g.staff, queue_list, now, filters=filters, after=position, related=False)
    paging.with_relations(page.appeals, doctors=False)
    return jsonify(rows=[_row(queue_list, a, now) for a in page.appeals], more=_more(name, filters, page))


@bp.get("/appeals/changes")
@login_required(*CONSULTANT)
def changed_rows() -> Any:
    """The rows of this page's lists changed after change number `since`: each rendered with
    the list that holds it now, or with no list (to be taken off the page); and the counters."""
    name = _page_name()
    filters = _filters()
    try:
        since = int(request.args.get("since", ""))
    except ValueError as exc:
        raise ValidationError(N_("Неверный номер изменения"), field="since") from exc
    seq = latest_seq()
    now = utcnow()
    shown = [QUEUE_LISTS[list_name] for list_name in PAGE_LISTS[name]]
    changes = paging.changes_since(g.staff, shown, since, now, filters=filters)
    counts = paging.counts(g.staff, now, filters, names=PAGE_COUNTS)
    body: dict[str, Any] = {
        "seq": seq,
        "reload": changes is None,
        "counts": {key: queue_count(value) for key, value in counts.items()},
        "rows": [],
    }
    for change in changes or []:
        if change.queue is None or change.appeal is None:
            body["rows"].append({"id": change.appeal_id, "list": None})
        else:
            body["rows"].append(_row(change.queue, change.appeal, now))
    return jsonify(body)
