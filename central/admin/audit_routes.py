"""«Журнал доступа»: who opened which patient's data, for the administrator and the auditor."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, render_template, request, stream_with_context
from flask_babel import gettext as _

from domain.models import Role, Staff
from sync.clock import utcnow
from web import audit
from web.auth import login_required
from web.errors import USER_ERRORS
from web.i18n import translate_error, user_timezone

from . import bp, journal
from .labels import ROLE_LABELS

#: Who reads the journal: the administrator, and an auditor who sees nothing else.
JOURNAL_READERS = (Role.ADMIN, Role.AUDITOR)


def _filters() -> journal.JournalFilter:
    try:
        return journal.JournalFilter.from_args(request.args, user_timezone())
    except USER_ERRORS as exc:
        flash(translate_error(exc), "error")
        return journal.JournalFilter(zone=user_timezone())


def _journal_read(action: str, filters: journal.JournalFilter) -> None:
    """Reading the journal is journalled too: which filters were used, not their values."""
    used = "filters:" + ",".join(sorted(filters.args())) if filters.args() else ""
    audit.record(action, kind="access_journal", patient=filters.patient, detail=used)


@bp.get("/audit")
@login_required(*JOURNAL_READERS)
def audit_journal() -> Any:
    filters = _filters()
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 1
    result = journal.page(filters, number)
    _journal_read(audit.AccessAction.VIEW, filters)
    people = Staff.live().order_by(Staff.last_name, Staff.first_name)
    return render_template(
        "central/admin/audit.html",
        title=_("Журнал доступа"),
        page=result,
        filters=filters,
        people=people,
        actions=journal.ACTION_LABELS,
        role_labels=ROLE_LABELS,
    )


@bp.get("/audit.csv")
@login_required(*JOURNAL_READERS)
def audit_csv() -> Any:
    filters = _filters()
    _journal_read(audit.AccessAction.EXPORT, filters)
    name = f"access-journal-{utcnow():%Y%m%d-%H%M}.csv"
    return Response(
        stream_with_context(journal.csv_lines(filters)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
