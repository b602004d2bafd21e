from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from central.appeals import service as appeals
from central.signing import MIN_PASSPHRASE, SigningError
from central.signing.signers import SignerChoice
from domain.models import Appeal, Attachment, AttachmentKind, Role
from sync.blobs import BlobStore
from web import audit
from web.auth import login_required

from . import bp, icd10, signing
from .files import protocol_files

CONSULTANT = (Role.CONSULTANT, Role.ADMIN)


# --- ICD-10 --------------------------------------------------------------------------


@bp.get("/api/v1/icd10")
@login_required(*CONSULTANT)
def icd10_search() -> Any:
    """Search МКБ-10, the Russian national edition («Добавьте заболевания»).
    ---
    get:
      summary: "МКБ-10 codes in force by code prefix or by Russian words of the title, top 20"
      description: >
        The national classifier, НСИ OID 1.2.643.5.1.13.13.11.1005 (see `classifier` in the
        answer for its version). A word matches the start of a title's word or another form of
        it; case and ё do not matter. Only items with `diagnosis: true` (in force, the most
        detailed level of their branch, e.g. J18.9 and not J18) may stand in a protocol.
      parameters:
        - name: q
          in: query
          required: true
          schema: {type: string}
          description: "code prefix or words, e.g. «J18», «пневм», «роды», «ХОБЛ»"
      responses:
        200:
          description: "matching codes with their Russian titles"
          content:
            application/json:
              schema:
                type: object
                properties:
                  classifier:
                    type: object
                    properties: {oid: {type: string}, version: {type: string}}
                  items:
                    type: array
                    items:
                      type: object
                      properties:
                        code: {type: string}
                        title: {type: string}
                        diagnosis: {type: boolean, description: "may stand in a protocol"}
        401: {description: not logged in}
    """
    found = icd10.search(request.args.get("q", ""))
    return jsonify(
        classifier={"oid": icd10.OID, "version": icd10.VERSION},
        items=[icd10.as_json(code) for code in found],
    )


# --- the protocol's pieces on the appeal page ------------------------------------------


@bp.app_context_processor
def _appeal_extras() -> dict[str, Any]:
    """What the appeal page's protocol partials ask for, computed only when they do."""
    return {
        "protocol_files_of": protocol_files,
        "protocol_signature_of": signing.signed_status,
    }


def _blob_response(attachment: Attachment) -> Response:
    """The file as a download under its own name (Cyrillic names too, per RFC 6266)."""
    blobs: BlobStore = current_app.extensions["blobs"]
    if not blobs.has(attachment.sha256):
        abort(404)
    fallback = attachment.filename.encode("ascii", "replace").decode("ascii").replace('"', "_")
    disposition = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(attachment.filename, safe='')}"
    )
    return Response(
        blobs.read(attachment.sha256),
        mimetype=attachment.content_type.split(";")[0],
        headers={"Content-Disposition": disposition},
    )


@bp.get("/appeals/<appeal_id>/protocol-files/<attachment_id>")
@login_required(*CONSULTANT)
def protocol_file(appeal_id: str, attachment_id: str) -> Any:
    appeal = appeals.visible_appeal(g.staff, appeal_id)
    attachment = Attachment.get_or_none(
        (Attachment.id == attachment_id)
        & (Attachment.appeal == appeal.id)
        & (Attachment.kind == AttachmentKind.PROTOCOL_FILE)
        & (Attachment.deleted == False)  # noqa: E712
    )
    if attachment is None:
        abort(404)
    audit.viewed(attachment, audit.AccessAction.DOWNLOAD)
    return _blob_response(attachment)


# --- «Подписание протокола» ----------------------------------------------------------------


def _signature_page(appeal: Appeal, status: int = 200) -> Any:
    signer = signing.protocol_signer(g.staff.organization)
    return render_template(
        "central/protocols/signature.html",
        title=_("Подписание протокола"),
        appeal=appeal,
        signers=[(signer.choice_id(choice), choice) for choice in signer.choices(g.staff.id)],
        signer_kind=signer.kind,
        can_create=signer.can_create,
        can_import=signer.can_import,
        signature=signing.signed_status(appeal),
        min_passphrase=MIN_PASSPHRASE,
    ), status


@bp.get("/appeals/<appeal_id>/signature")
@login_required(Role.CONSULTANT)
def signature(appeal_id: str) -> Any:
    appeal, _protocol = signing.signable_appeal(g.staff, appeal_id)
    try:
        return _signature_page(appeal)
    except SigningError as error:
        flash(str(error), "error")
        return redirect(url_for("appeals.detail", appeal_id=appeal.id))


@bp.post("/appeals/<appeal_id>/signature")
@login_required(Role.CONSULTANT)
def sign(appeal_id: str) -> Any:
    appeal, _protocol = signing.signable_appeal(g.staff, appeal_id)
    try:
        signing.sign_appeal(
            g.staff, appeal, request.form.get("signer", ""), request.form.get("passphrase", "")
        )
    except SigningError as error:
        flash(str(error), "error")
        return _signature_page(appeal, 400)
    flash(_("Протокол подписан: подписанный протокол будет отправлен на ФАП"), "success")
    return redirect(url_for("protocols.signature", appeal_id=appeal.id))


@bp.post("/appeals/<appeal_id>/signature/new")
@login_required(Role.CONSULTANT)
def new_signer(appeal_id: str) -> Any:
    appeal, _protocol = signing.signable_appeal(g.staff, appeal_id)
    try:
        created = signing.create_signer(
            g.staff, request.form.get("new_passphrase", ""), request.form.get("new_passphrase_again", "")
        )
    except SigningError as error:
        flash(str(error), "error")
        return _signature_page(appeal, 400)
    flash(_("Подпись создана: сертификат %(serial)s", serial=created.serial), "success")
    return redirect(url_for("protocols.signature", appeal_id=appeal.id))


@bp.post("/appeals/<appeal_id>/signature/import")
@login_required(Role.CONSULTANT)
def import_signer(appeal_id: str) -> Any:
    appeal, _protocol = signing.signable_appeal(g.staff, appeal_id)
    upload = request.files.get("pkcs12")
    data = upload.read(signing.MAX_PKCS12 + 1) if upload else b""
    try:
        imported = signing.import_signer(g.staff, data, request.form.get("import_passphrase", ""))
    except SigningError as error:
        flash(str(error), "error")
        return _signature_page(appeal, 400)
    flash(_("Подпись импортирована: сертификат %(serial)s", serial=imported.serial), "success")
    if not imported.trusted:
        warning = _("Сертификат выдан не удостоверяющим центром faplink: на ФАП подпись будет недоверенной")
        flash(warning, "error")
    return redirect(url_for("protocols.signature", appeal_id=appeal.id))


@bp.post("/appeals/<appeal_id>/signature/certificate")
@login_required(Role.CONSULTANT)
def add_certificate(appeal_id: str) -> Any:
    """«Добавить сертификат»: the public part of a key the external program holds."""
    appeal, _protocol = signing.signable_appeal(g.staff, appeal_id)
    upload = request.files.get("certificate")
    data = upload.read(64 * 1024) if upload else b""
    try:
        added = signing.add_certificate(g.staff, data)
    except SigningError as error:
        flash(str(error), "error")
        return _signature_page(appeal, 400)
    message = _(
        "Сертификат добавлен: %(holder)s, отпечаток %(thumbprint)s",
        holder=added.holder,
        thumbprint=added.thumbprint,
    )
    flash(message, "success")
    if not added.trusted:
        warning = _(
            "Сертификат выдан не тем УЦ, что указан в «Электронной подписи»: "
            "на ФАП подпись будет недоверенной"
        )
        flash(warning, "error")
    return redirect(url_for("protocols.signature", appeal_id=appeal.id))


@bp.get("/appeals/<appeal_id>/signed-protocol.pdf")
@login_required(*CONSULTANT)
def signed_protocol_pdf(appeal_id: str) -> Any:
    appeal = appeals.visible_appeal(g.staff, appeal_id)
    attachment = signing.signed_protocol(appeal)
    if attachment is None:
        abort(404, description=_("Протокол ещё не подписан"))
    audit.viewed(attachment, audit.AccessAction.DOWNLOAD)
    return _blob_response(attachment)


def _p7s_response(appeal: Appeal) -> Response:
    attachment = signing.protocol_signature(appeal)
    if attachment is None:
        abort(404, description=_("У протокола нет отсоединённой подписи (.p7s)"))
    response = _blob_response(attachment)
    response.mimetype = "application/pkcs7-signature"
    return response


@bp.get("/appeals/<appeal_id>/protocol.p7s")
@login_required(*CONSULTANT)
def protocol_p7s(appeal_id: str) -> Any:
    return _p7s_response(appeals.visible_appeal(g.staff, appeal_id))


@bp.get("/api/v1/appeals/<appeal_id>/protocol.p7s")
@login_required(*CONSULTANT)
def api_protocol_p7s(appeal_id: str) -> Any:
    """«Скачать подпись»: the detached signature of the signed protocol PDF.
    ---
    get:
      summary: "The signed protocol's detached CMS signature (CAdES-BES, DER): GOST R 34.10-2012 or the external program's"
      description: >
        It signs the PDF at /appeals/{id}/signed-protocol.pdf byte for byte; check it with
        `openssl cms -verify -binary -inform DER -in protocol.p7s -content protocol.pdf -CAfile ca.pem`
        (the GOST engine loaded) against the centre's CA (`faplink central signing ca`).
        Stored as an attachment of kind `protocol_sig`. A centre that signs PAdES makes none.
      responses:
        200: {description: the signature, content: {application/pkcs7-signature: {}}}
        404: {description: "not found, not visible, not signed, or signed PAdES (the signature is inside the PDF)"}
    """  # noqa: E501
    return _p7s_response(appeals.visible_appeal(g.staff, appeal_id))


# --- signing as JSON -------------------------------------------------------------------


def _signer_json(signer: SignerChoice) -> dict[str, Any]:
    return {
        "serial": signer.serial,
        "holder": signer.holder,
        "issuer": signer.issuer,
        "not_before": signer.not_before.isoformat(),
        "not_after": signer.not_after.isoformat(),
        "trusted": signer.trusted,
    }


@bp.get("/api/v1/signers")
@login_required(Role.CONSULTANT)
def api_signers() -> Any:
    """«Выберите подпись»: the consultant's stored signatures.
    ---
    get:
      summary: The logged-in consultant's signing certificates (keys stay at central)
      responses:
        200: {description: "the centre's signer (`kind`: pades, gost, external) and for each certificate: `id` (what /signature takes as `signer`), serial, holder, issuer, validity and whether the centre's CA issued it"}
    """  # noqa: E501
    try:
        signer = signing.protocol_signer(g.staff.organization)
        return jsonify(
            kind=signer.kind,
            signers=[{"id": signer.choice_id(s), **_signer_json(s)} for s in signer.choices(g.staff.id)],
        )
    except SigningError as error:
        return jsonify(error="signing", message=str(error)), 400


@bp.post("/api/v1/appeals/<appeal_id>/signature")
@login_required(Role.CONSULTANT)
def api_sign(appeal_id: str) -> Any:
    """«Подписать протокол».
    ---
    post:
      summary: "Sign the closed appeal's protocol PDF with one of the consultant's signatures"
      description: "PAdES, GOST or the external program, as the centre's administrator chose («Электронная подпись»)."
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [signer, passphrase]
              properties:
                signer: {type: string, description: "the certificate's serial (from /api/v1/signers; the SHA-1 thumbprint for an external program)"}
                passphrase: {type: string}
      responses:
        201: {description: "the signed PDF's record and its check, and the detached signature's (`signature`, null for PAdES); both go to the post"}
        400:
          description: wrong passphrase, unusable certificate
          content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
        403: {description: the protocol is someone else's}
        404: {description: not found, not visible, or not closed}
    """  # noqa: E501
    appeal, _protocol = signing.signable_appeal(g.staff, appeal_id)
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    try:
        attachment = signing.sign_appeal(
            g.staff, appeal, str(body.get("signer", "")), str(body.get("passphrase", ""))
        )
    except SigningError as error:
        return jsonify(error="signing", message=str(error)), 400
    status = signing.signed_status(appeal)
    detached = status.signature if status else None
    return jsonify(
        id=attachment.id,
        filename=attachment.filename,
        sha256=attachment.sha256,
        size=attachment.size,
        summary=status.result.summary if status and status.result else None,
        signature=None
        if detached is None
        else {
            "id": detached.id,
            "filename": detached.filename,
            "sha256": detached.sha256,
            "size": detached.size,
            "url": url_for("protocols.api_protocol_p7s", appeal_id=appeal.id),
        },
    ), 201
