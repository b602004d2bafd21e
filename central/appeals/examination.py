"""«Обследование» on the appeal page and previews of the appeal's files.

The post's exam comes to central by sync with the appeal: the exams sent with
it, and the patient's latest one if it is newer, each with its vitals, and the
vitals' chart over time. Files open in the page (PDF, DOCX, XLSX, TXT, images)
with the same access rule as their download: whoever may open the appeal.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flask import Response, current_app, g, render_template, request, url_for
from flask_babel import gettext as _

from central.chat.service import appeal_file
from domain.models import Appeal, Attachment, AttachmentKind, Exam, Observation
from sync.blobs import BlobStore
from web import audit
from web.auth import login_required
from web.charts import VitalChart, vital_charts
from web.earlywarning import EarlyWarning, for_exam
from web.previews import PREVIEW_CSP, file_response, preview
from web.uploads import sniff
from web.vitals import observations

from . import bp
from .routes import CONSULTANT

__all__ = ["ExamShown", "Examination", "examination", "MAX_EXAMS"]

#: Exams listed on the appeal page; older ones live in the chart.
MAX_EXAMS = 3


@dataclass(frozen=True)
class ExamShown:
    exam: Exam
    observations: list[Observation]
    sent_with_appeal: bool  # False: the patient's latest exam, taken apart from this appeal

    @cached_property
    def warning(self) -> EarlyWarning:
        """NEWS2 or the child's age ranges, with the flags the kiosk warned the feldsher about."""
        return for_exam(self.exam)


@dataclass(frozen=True)
class Examination:
    exams: list[ExamShown]
    charts: list[VitalChart]


def examination(appeal: Appeal) -> Examination:
    """The exams to show with the appeal, newest first, and the patient's vitals over time."""
    newest_first = (Exam.taken_at.desc(), Exam.seq.desc())
    sent = list(Exam.live().where(Exam.appeal == appeal.id).order_by(*newest_first).limit(MAX_EXAMS))
    latest = Exam.live().where(Exam.patient == appeal.patient_id).order_by(*newest_first).first()
    shown = [ExamShown(exam, observations(exam), True) for exam in sent]
    if latest is not None and all(latest.id != exam.id for exam in sent):
        if not sent or latest.taken_at > sent[0].taken_at:
            shown.insert(0, ExamShown(latest, observations(latest), False))
    return Examination(shown[:MAX_EXAMS], vital_charts(appeal.patient_id))


@bp.app_template_global()
def appeal_examination(appeal: Appeal) -> Examination:
    return examination(appeal)


def _stored(attachment: Attachment) -> bytes | None:
    blobs: BlobStore = current_app.extensions["blobs"]
    return blobs.read(attachment.sha256) if blobs.has(attachment.sha256) else None


def _not_arrived() -> Any:
    return render_template(
        "web/error.html",
        title=_("Файл ещё не получен"),
        message=_("Файл придёт с ближайшей синхронизацией поста"),
    ), 404


@bp.get("/appeals/<appeal_id>/files/<attachment_id>/preview")
@login_required(*CONSULTANT)
def file_preview(appeal_id: str, attachment_id: str) -> Any:
    """The file inside the page; converted documents carry no scripts."""
    attachment = appeal_file(g.staff, appeal_id, attachment_id)
    data = _stored(attachment)
    if data is None:
        return _not_arrived()
    kind = sniff(data, attachment.filename)
    audit.viewed(attachment, audit.AccessAction.PREVIEW)
    response = Response(
        render_template(
            "central/file_preview.html",
            title=attachment.filename,
            appeal_id=appeal_id,
            attachment=attachment,
            filename=attachment.filename,
            kind=kind,
            size=len(data),
            shown=preview(data, kind),
            raw_url=url_for("appeals.file_inline", appeal_id=appeal_id, attachment_id=attachment.id),
            download_url=url_for("chat.file", appeal_id=appeal_id, attachment_id=attachment.id),
            back=url_for("appeals.detail", appeal_id=appeal_id) + "#files",
            photo=attachment.kind == AttachmentKind.PHOTO,
        )
    )
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


@bp.get("/appeals/<appeal_id>/files/<attachment_id>/inline")
@login_required(*CONSULTANT)
def file_inline(appeal_id: str, attachment_id: str) -> Any:
    """The bytes for the preview's <img> or PDF frame (other kinds download)."""
    attachment = appeal_file(g.staff, appeal_id, attachment_id)
    data = _stored(attachment)
    if data is None:
        return _not_arrived()
    kind = sniff(data, attachment.filename)
    download = request.args.get("download") == "1"
    audit.viewed(attachment, audit.AccessAction.DOWNLOAD if download else audit.AccessAction.PREVIEW)
    return file_response(data, attachment.filename, kind, download=download)
