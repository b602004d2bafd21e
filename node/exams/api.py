"""The exam's JSON API (/api/v1): exams with observations, files and photos, device readings."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, request, url_for
from flask_babel import gettext

from domain.errors import ValidationError
from domain.models import AttachmentKind, Exam
from i18n import N_
from sync.db import database
from web import audit
from web.auth import login_required
from web.earlywarning import EarlyWarning, for_exam
from web.serialize import attachment_json, iso
from web.session_api import json_body

from ..auth.routes import NODE_ROLES
from ..patients.service import post_patient
from . import bp, files, service
from .devices import device_feed


def exam_json(exam: Exam) -> dict[str, Any]:
    observations = service.observations(exam)
    warning = for_exam(exam)
    return {
        "id": exam.id,
        "patient": exam.patient_id,
        "appeal": exam.appeal_id,
        "complaints": exam.complaints,
        "objective_status": exam.objective_status,
        "taken_at": iso(exam.taken_at),
        "consciousness": exam.consciousness,
        "on_oxygen": exam.on_oxygen,
        "observations": [
            {
                "loinc": o.loinc,
                "value": o.value,
                "unit": o.unit,
                "taken_at": iso(o.taken_at),
                "manual": o.manual,
                "device": o.device,
                "device_serial": o.device_serial,
            }
            for o in observations
        ],
        "red_flags": [
            {"loinc": f.loinc, "value": f.value, "message": f.text, "form": f.form} for f in warning.flags
        ],
        "suggested_form_of_care": warning.proposed,
        "early_warning": early_warning_json(warning),
        "attachments": [attachment_json(a) for a in files.exam_attachments(exam)],
    }


def early_warning_json(warning: EarlyWarning) -> dict[str, Any]:
    """NEWS2 with its parts (adults) or the child's age band, and what was not recorded."""
    score = warning.news2
    return {
        "scale": "NEWS2" if score is not None else "paediatric",
        "news2": None
        if score is None
        else {
            "score": score.score,
            "complete": score.complete,
            "parts": [{"parameter": p.key, "points": p.points} for p in score.parts],
        },
        "age_band": gettext(warning.age_band) if warning.age_band else None,
        "missing": [gettext(m) for m in warning.missing],
        "proposed_form_of_care": warning.proposed,
    }


def _upload() -> files.StagedFile:
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError(N_("Выберите файл"), field="file")
    kind = request.form.get("kind", AttachmentKind.FILE)
    name = upload.filename or ""
    if kind == AttachmentKind.PHOTO and name in ("", "blob", "photo.jpg"):
        name = files.photo_name()
    return files.stage(upload.read(), name, kind)


@bp.post("/api/v1/files")
@login_required(*NODE_ROLES)
def stage_file() -> Any:
    """Stage a file for a wizard.
    ---
    post:
      summary: Check a file (PDF, DOC/DOCX, XLS/XLSX, TXT, JPEG/PNG up to 20 MB) by content and keep it until the appeal is created
      requestBody:
        content:
          multipart/form-data:
            schema: {type: object, properties: {file: {type: string, format: binary}, kind: {type: string, enum: [file, photo]}}}
      responses:
        201: {description: "a reference (sha256, filename, kind) to send with the appeal's `files`"}
        400: {description: "empty, too large, or not what its name says", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    """  # noqa: E501
    staged = _upload()
    body = {
        "sha256": staged.sha256,
        "filename": staged.filename,
        "kind": staged.kind,
        "content_type": staged.content_type,
        "size": staged.size,
        "preview_url": url_for("exams.staged_preview", sha=staged.sha256, name=staged.filename),
    }
    return jsonify(body), 201


@bp.get("/api/v1/patients/<patient_id>/exams")
@login_required(*NODE_ROLES)
def list_exams(patient_id: str) -> Any:
    """A patient's exams.
    ---
    get:
      summary: The patient's exams, newest first, with observations and red flags
      responses:
        200: {description: exams}
    """
    patient = post_patient(patient_id)
    audit.viewed(patient, detail="exams")
    return jsonify(exams=[exam_json(e) for e in service.patient_exams(patient)])


@bp.post("/api/v1/patients/<patient_id>/exams")
@login_required(*NODE_ROLES)
def create_exam(patient_id: str) -> Any:
    """Record an exam.
    ---
    post:
      summary: Record an обследование; values in other units (glucose mg/dL, weight g or lb, °F) are converted
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                complaints: {type: string}
                objective_status: {type: string}
                taken_at: {type: string, format: date-time, description: "local time of the exam (default now)"}
                consciousness: {type: string, enum: ["", A, C, V, P, U], description: "ACVPU; empty when not assessed"}
                on_oxygen: {type: boolean, nullable: true, description: "supplemental oxygen; null when not recorded"}
                observations:
                  type: array
                  items:
                    type: object
                    required: [loinc, value, unit]
                    properties:
                      loinc: {type: string, example: "59408-5", description: "a vital or a lab result: HbA1c 4548-4 (%), cholesterol 14647-2 (mmol/L), triglycerides 14927-8 (mmol/L), creatinine 14682-9 (umol/L), haemoglobin 718-7 (g/L); 2093-3, 2571-8, 2160-0 in mg/dL and 59261-8 in mmol/mol are converted"}
                      value: {type: number}
                      unit: {type: string, description: UCUM, example: "%"}
                      taken_at: {type: string, format: date-time}
                      device: {type: string, description: "device model; empty when typed by hand"}
                      device_serial: {type: string}
      responses:
        201: {description: "the exam, with red flags, the early warning (NEWS2 from 16 years, age ranges for children) and the proposed form of care"}
        400: {description: "a value out of range, an unknown unit, or nothing to record", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    """  # noqa: E501
    data = json_body()
    consciousness, on_oxygen = service.consciousness_oxygen_from_json(data)
    exam = service.record_exam(
        g.staff,
        patient_id,
        complaints=str(data.get("complaints") or ""),
        objective_status=str(data.get("objective_status") or ""),
        vitals=service.vitals_from_json(data.get("observations") or []),
        taken_at=service.parse_exam_time(str(data.get("taken_at") or "")),
        consciousness=consciousness,
        on_oxygen=on_oxygen,
    )
    return jsonify(exam_json(exam)), 201


@bp.get("/api/v1/exams/<exam_id>")
@login_required(*NODE_ROLES)
def get_exam(exam_id: str) -> Any:
    """One exam.
    ---
    get:
      summary: An exam with its observations, red flags and files
      responses:
        200: {description: the exam}
        400: {description: not an exam of this post}
    """
    exam = service.post_exam(exam_id)
    audit.viewed(exam)
    return jsonify(exam_json(exam))


@bp.post("/api/v1/exams/<exam_id>/attachments")
@login_required(*NODE_ROLES)
def attach_to_exam(exam_id: str) -> Any:
    """Attach a file or a webcam photo to an exam.
    ---
    post:
      summary: Attach a file or photo (kind=photo for the webcam), checked by content
      requestBody:
        content:
          multipart/form-data:
            schema: {type: object, properties: {file: {type: string, format: binary}, kind: {type: string, enum: [file, photo]}}}
      responses:
        201: {description: the attachment}
        400: {description: "empty, too large, or not what its name says", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    """  # noqa: E501
    exam = service.post_exam(exam_id)
    staged = _upload()
    with database.atomic():
        attachment = files.attach(g.staff, staged, exam=exam)
    return jsonify(attachment_json(attachment)), 201


@bp.get("/api/v1/devices/readings")
@login_required(*NODE_ROLES)
def readings() -> Any:
    """Latest device readings.
    ---
    get:
      summary: The latest fresh reading of each vital from the post's devices (in the stored unit)
      responses:
        200: {description: "readings by LOINC code; live ones also arrive over Socket.IO (namespace /devices, event reading)"}
    """  # noqa: E501
    return jsonify(readings=[v.as_json() for v in device_feed().latest().values()])
