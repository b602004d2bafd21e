from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from faplink.web.auth import login_required
from faplink.web.i18n import translate_error
from sync.errors import SyncError

from ..auth.routes import NODE_ROLES
from . import bp, service


@bp.get("/patients")
@login_required(*NODE_ROLES)
def search() -> Any:
    query = request.args.get("q", "")
    pick = request.args.get("pick")  # set when the search is a step of a wizard
    error = None
    found = []
    try:
        found = service.search(query)
    except SyncError as exc:
        error = translate_error(exc)
    return render_template(
        "node/patients.html",
        title=_("Поиск пациента"),
        query=query,
        found=found,
        error=error,
        pick=pick,
    )


@bp.route("/patients/new", methods=["GET", "POST"])
@login_required(*NODE_ROLES)
def new() -> Any:
    error = None
    pick = request.values.get("pick")
    if request.method == "POST":
        try:
            patient = service.register(request.form.to_dict())
            if pick == "book":
                return redirect(url_for("appeals.book_doctor", patient=patient.id))
            return redirect(url_for("patients.search", q=patient.phone or patient.snils or patient.enp))
        except SyncError as exc:
            error = translate_error(exc)
    return render_template(
        "node/patient_form.html",
        title=_("Новый пациент"),
        form=request.form,
        error=error,
        pick=pick,
    ), (400 if error else 200)
