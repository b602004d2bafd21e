from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, jsonify, request
from flask_babel import gettext as _

from domain.errors import ValidationError
from i18n import N_
from sync.blobs import BlobStore
from sync.clock import utcnow
from web import audit
from web.auth import login_required
from web.openapi import build_openapi
from web.serialize import (
    appeal_json,
    attachment_json,
    patient_json,
    slot_json,
    staff_json,
)
from web.session_api import add_session_routes, json_body

from ..appeals import service as appeals
from ..auth.routes import NODE_ROLES, check_feldsher
from ..patients import service as patients
from ..patients.service import post_patient
from ..syncing import reached_centre, sync_client, sync_worker
from . import bp

add_session_routes(bp, check_feldsher)


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(build_openapi(current_app, "faplink node API"))


@bp.get("/patients")
@login_required(*NODE_ROLES)
def find_patients() -> Any:
    """Find patients.
    ---
    get:
      summary: Find patients by phone (with those the owner represents), SNILS or ЕНП
      parameters: [{name: q, in: query, required: true, schema: {type: string}}]
      responses:
        200: {description: matching patients of this post}
        400: {description: "a number that cannot be valid", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    """
    query = request.args.get("q", "")
    found = patients.search(query)
    audit.searched(audit.query_fields(query), found)
    return jsonify(patients=[patient_json(p) for p in found])


@bp.post("/patients")
@login_required(*NODE_ROLES)
def create_patient() -> Any:
    """Register a patient.
    ---
    post:
      summary: Register a patient at this post
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [last_name, first_name, birth_date, sex]
              properties:
                last_name: {type: string}
                first_name: {type: string}
                middle_name: {type: string}
                birth_date: {type: string, format: date}
                sex: {type: string, enum: [male, female]}
                phone: {type: string}
                snils: {type: string}
                enp: {type: string}
                address: {type: string}
                representative: {type: string, description: "id of the legal representative: an adult patient of this post"}
                representative_relation: {type: string, enum: [mother, father, guardian, trustee, adoptive, other], description: "required with a representative"}
                representative_name: {type: string, description: "or the representative's full name (not a patient of the post)"}
                representative_document: {type: string, description: "with representative_name: the document of authority"}
                representative_phone: {type: string}
      responses:
        201: {description: the patient}
        400: {description: "invalid SNILS, ЕНП or phone, or a duplicate", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    """
    return jsonify(patient_json(patients.register(json_body()))), 201


@bp.patch("/patients/<patient_id>")
@login_required(*NODE_ROLES)
def update_patient(patient_id: str) -> Any:
    """Edit a patient's demographics.
    ---
    patch:
      summary: Change some demographic fields; numbers are validated as at registration
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                last_name: {type: string}
                first_name: {type: string}
                middle_name: {type: string}
                birth_date: {type: string, format: date}
                sex: {type: string, enum: [male, female]}
                phone: {type: string}
                snils: {type: string}
                enp: {type: string}
                address: {type: string}
                representative: {type: string}
                representative_relation: {type: string, enum: [mother, father, guardian, trustee, adoptive, other]}
                representative_name: {type: string}
                representative_document: {type: string}
                representative_phone: {type: string}
      responses:
        200: {description: the patient}
        400: {description: invalid value, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    """
    return jsonify(patient_json(patients.update(patient_id, json_body())))


@bp.get("/specialties")
@login_required(*NODE_ROLES)
def specialties() -> Any:
    """Specialties.
    ---
    get:
      summary: Specialties of the region's consultation centres, with the ages they accept
      parameters:
        - {name: patient, in: query, schema: {type: string}, description: "only those whose age range this patient fits"}
      responses:
        200: {description: specialties}
    """
    patient_id = request.args.get("patient")
    patient = post_patient(patient_id) if patient_id else None
    return jsonify(
        specialties=[
            {"id": s.id, "name": s.name, "age_from": s.age_from, "age_under": s.age_under}
            for s in appeals.specialties(patient)
        ]
    )


@bp.get("/consultants")
@login_required(*NODE_ROLES)
def consultants() -> Any:
    """Consultants.
    ---
    get:
      summary: Consultants, by specialty and by surname
      parameters:
        - {name: specialty, in: query, schema: {type: string}}
        - {name: name, in: query, schema: {type: string}}
        - {name: patient, in: query, schema: {type: string}, description: "only those this patient may be booked to"}
      responses:
        200: {description: consultants}
    """
    patient_id = request.args.get("patient")
    patient = post_patient(patient_id) if patient_id else None
    found = appeals.consultants(request.args.get("specialty"), request.args.get("name", ""), patient)
    return jsonify(consultants=[staff_json(c) for c in found])


@bp.get("/consultants/<consultant_id>/slots")
@login_required(*NODE_ROLES)
def slots(consultant_id: str) -> Any:
    """Free slots.
    ---
    get:
      summary: A consultant's free slots for the coming two weeks (from the synced schedule)
      parameters:
        - {name: patient, in: query, schema: {type: string}, description: "refuse if this patient may not be booked"}
      responses:
        200: {description: slots}
        400: {description: "the patient may not be booked to this consultant"}
    """
    patient_id = request.args.get("patient")
    patient = post_patient(patient_id) if patient_id else None
    return jsonify(slots=[slot_json(s) for s in appeals.bookable_slots(consultant_id, patient)])


@bp.get("/appeals")
@login_required(*NODE_ROLES)
def list_appeals() -> Any:
    """Appeals of this post.
    ---
    get:
      summary: Appeals in one list, each saying whether it has reached the centre
      parameters:
        - {name: queue, in: query, schema: {type: string, enum: [new, overdue, in_work, closed]}}
      responses:
        200: {description: appeals}
    """
    name = request.args.get("queue", "new")
    lists = appeals.lists()
    if name not in ("new", "overdue", "in_work", "closed"):
        raise ValidationError(N_("Неизвестный список обращений: %(name)s"), field="queue", name=name)
    items = lists.overdue + lists.new if name == "new" else getattr(lists, name)
    now = utcnow()
    return jsonify(
        appeals=[appeal_json(a, now) | {"reached_centre": reached_centre(a.seq, a.changed_by)} for a in items]
    )


@bp.post("/appeals")
@login_required(*NODE_ROLES)
def create_appeal() -> Any:
    """«Информация верна, создать обращение».
    ---
    post:
      summary: Create a doctor-to-doctor appeal
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [patient, question]
              properties:
                patient: {type: string}
                consultant: {type: string, description: "a named consultant, or:"}
                specialty: {type: string, description: "for emergency/urgent care: any consultant of it"}
                slot: {type: string, description: "required for planned care"}
                kind: {type: string, enum: [primary, repeat, monitoring]}
                form_of_care: {type: string, enum: [emergency, urgent, planned]}
                contact_mode: {type: string, enum: [video, audio, chat]}
                question: {type: string}
                anamnesis: {type: string}
                complaints: {type: string}
                exam_data: {type: string}
                exam: {type: string, description: "the exam sent with the appeal: linked to it; its early warning's proposed form of care is stored"}
                form_reason: {type: string, description: "required when form_of_care is less urgent than the exam's proposed form"}
                consent_by: {type: string, enum: [patient, representative], description: "who gave the ИДС to the telemedicine consultation (required; under 15: representative)"}
                consent_name: {type: string, description: "the representative who gave it (default: the one on the patient's card)"}
                consent_at: {type: string, format: date-time, description: "when it was given (default: now); the scan goes to /appeals/{id}/attachments with kind=consent"}
      responses:
        201: {description: the appeal}
        400: {description: "invalid, no ИДС, an age the specialty does not accept, or the slot is taken", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    """
    appeal = appeals.create_appeal(g.staff, json_body())
    return jsonify(appeal_json(appeal, utcnow(), detail=True)), 201


@bp.get("/appeals/<appeal_id>")
@login_required(*NODE_ROLES)
def appeal(appeal_id: str) -> Any:
    """One appeal.
    ---
    get:
      summary: An appeal with its text, protocol and files
      responses:
        200: {description: the appeal}
        404: {description: not an appeal of this post}
    """
    item = appeals.post_appeal(appeal_id)
    audit.viewed(item)
    return jsonify(
        appeal_json(item, utcnow(), detail=True)
        | {"reached_centre": reached_centre(item.seq, item.changed_by)}
    )


@bp.post("/appeals/<appeal_id>/attachments")
@login_required(*NODE_ROLES)
def attach(appeal_id: str) -> Any:
    """Attach a file.
    ---
    post:
      summary: Attach a file (PDF, DOC/DOCX, XLS/XLSX, TXT, JPEG/PNG up to 20 MB), checked by content
      requestBody:
        content:
          multipart/form-data:
            schema:
              type: object
              properties:
                file: {type: string, format: binary}
                kind: {type: string, enum: [file, consent], description: "consent: a photo or scan of the signed ИДС form"}
      responses:
        201: {description: the attachment}
        400: {description: "empty, too large, or not what its name says", content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    """
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError(N_("Выберите файл"), field="file")
    item = appeals.post_appeal(appeal_id)
    kind = request.form.get("kind") or "file"
    attachment = appeals.attach_file(g.staff, item, upload.filename or "", upload.read(), kind)
    return jsonify(attachment_json(attachment)), 201


@bp.get("/appeals/<appeal_id>/protocol.pdf")
@login_required(*NODE_ROLES)
def protocol_pdf(appeal_id: str) -> Any:
    """«Скачать протокол».
    ---
    get:
      summary: The protocol PDF as received from the centre
      responses:
        200: {description: the PDF, content: {application/pdf: {}}}
        404: {description: not received yet}
    """
    pdf = appeals.post_appeal(appeal_id).protocol_pdf()
    blobs: BlobStore = current_app.extensions["blobs"]
    if pdf is None or not blobs.has(pdf.sha256):
        return jsonify(error="not_found", message=_("PDF протокола придёт с ближайшей синхронизацией")), 404
    audit.viewed(pdf, audit.AccessAction.DOWNLOAD)
    return Response(blobs.read(pdf.sha256), mimetype="application/pdf")


@bp.get("/sync/status")
@login_required(*NODE_ROLES)
def sync_status() -> Any:
    """Sync status.
    ---
    get:
      summary: "State, queue sizes, bytes, last success, last error"
      responses:
        200: {description: the status}
    """
    return jsonify(sync_client().refresh_queues().as_dict())


@bp.post("/sync/now")
@login_required(*NODE_ROLES)
def sync_now() -> Any:
    """«Синхронизировать сейчас».
    ---
    post:
      summary: Start a sync round now
      responses:
        202: {description: started}
    """
    sync_worker().trigger()
    return jsonify(started=True), 202
