"""The FHIR R4 REST API: read, search, `Patient/<id>/$everything`, Binary, metadata.

Routes translate: they authenticate the reader, parse the query and page the
result; which rows a reader sees and how a row becomes a resource are decided in
`access`, `records` and `mapping`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, g, request, url_for
from flask_babel import gettext as _

from domain.models import Appeal, Attachment, AttachmentKind
from i18n import N_
from sync.blobs import BlobStore
from web.errors import USER_ERRORS, UserError
from web.i18n import translate_error

from . import bp, tokens
from .access import READER_ROLES, Reader, record_access
from .capability import capability_statement
from .errors import FhirError, NotFound, SearchError
from .mapping import DOCUMENT_KINDS, Directory, Resource
from .records import TYPES, Params, ResourceType

FHIR_JSON = "application/fhir+json; charset=utf-8"
DEFAULT_COUNT = 50
MAX_COUNT = 500
_EVERYTHING_TYPES = (
    "ServiceRequest",
    "Observation",
    "Composition",
    "Condition",
    "DocumentReference",
    "Consent",
)
_REFERENCE = re.compile(r"^(Practitioner|Organization)/([A-Za-z0-9\-.]{1,64})$")


def _fhir(body: Resource, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, content_type=FHIR_JSON, headers=headers
    )


def _outcome(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    severity = "error" if status < 500 else "fatal"
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }
    return _fhir(body, status, headers)


# -- who reads ----------------------------------------------------------------------------


@bp.before_request
def _authenticate() -> Response | None:
    """A consultant's or administrator's session, or a МИС's Bearer token; metadata is open."""
    if request.endpoint == "fhir.metadata":
        return None
    challenge = {"WWW-Authenticate": 'Bearer realm="faplink FHIR"'}
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _sep, value = header.partition(" ")
        token = tokens.verify(value.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            return _outcome(401, "login", _("Токен доступа недействителен или отозван"), challenge)
        g.fhir_reader = Reader(token=token)
        return None
    staff = getattr(g, "staff", None)
    if staff is None:
        return _outcome(401, "login", _("Войдите в систему или передайте токен доступа"), challenge)
    if staff.role not in READER_ROLES:
        return _outcome(403, "forbidden", _("Недостаточно прав для этого действия"))
    g.fhir_reader = Reader(staff=staff)
    return None


def _error(exc: UserError) -> Response:
    status = exc.status if isinstance(exc, FhirError) else 400
    code = exc.issue if isinstance(exc, FhirError) else "invalid"
    return _outcome(status, code, translate_error(exc))


for _shown in USER_ERRORS:
    bp.register_error_handler(_shown, _error)


def _reader() -> Reader:
    return g.fhir_reader  # type: ignore[no-any-return]


# -- reading ------------------------------------------------------------------------------


def _type(name: str) -> ResourceType:
    kind = TYPES.get(name)
    if kind is None:
        raise NotFound(N_("Тип ресурса %(type)s не поддерживается"), type=name)
    return kind


def _base() -> str:
    return url_for("fhir.metadata", _external=True).removesuffix("metadata")


def _entry(resource: Resource, mode: str = "match") -> dict[str, Any]:
    return {
        "fullUrl": f"{_base()}{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": mode},
    }


def _params() -> Params:
    """The query's parameters, and a `_search` POST's form (where SNILS or a name stays out
    of the URL, and so out of every log on the way)."""
    params = {name: request.args.getlist(name) for name in request.args}
    if request.method == "POST":
        for name in request.form:
            params.setdefault(name, []).extend(request.form.getlist(name))
    return params


def _number(params: Params, name: str, default: int, high: int) -> int:
    raw = (params.get(name) or [str(default)])[-1]
    if not raw.isdigit():
        raise SearchError(N_("Параметр %(name)s должен быть целым неотрицательным числом"), name=name)
    return min(int(raw), high)


@bp.get("/metadata")
def metadata() -> Response:
    return _fhir(capability_statement(_base()))


@bp.get("/<resource_type>")
@bp.post("/<resource_type>/_search")
def search(resource_type: str) -> Response:
    """`GET [base]/[type]?params` or `POST [base]/[type]/_search` (form-encoded): a searchset
    Bundle, `_count` per page, `next` link to the rest."""
    kind = _type(resource_type)
    params = _params()
    count = _number(params, "_count", DEFAULT_COUNT, MAX_COUNT)
    offset = _number(params, "_offset", 0, 10**9)
    query = kind.rows(_reader())
    for condition in kind.where(params):
        query = query.where(condition)
    total = query.count()
    rows = list(query.order_by(kind.model.id).offset(offset).limit(count)) if count else []
    resources = kind.build(rows, Directory.load(_base()))
    named = [v.removeprefix("Patient/") for k in ("patient", "subject") for v in params.get(k, [])]
    record_access(
        _reader(),
        "search",
        kind.name,
        resources,
        patient=named[0] if len(set(named)) == 1 and "," not in named[0] else "",
        parameters=[k for k in params if not k.startswith("_") or k == "_id"],
    )

    def link(relation: str, at: int) -> dict[str, str]:
        kept = [(k, v) for k, values in params.items() if k not in ("_offset", "_count") for v in values]
        query_string = urlencode([*kept, ("_count", str(count)), ("_offset", str(at))])
        return {"relation": relation, "url": f"{_base()}{kind.name}?{query_string}"}

    links = [link("self", offset)]
    if count and offset + count < total:
        links.append(link("next", offset + count))
    if offset and count:
        links.append(link("previous", max(0, offset - count)))
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [_entry(r) for r in resources],
    }
    return _fhir(bundle)


@bp.get("/<resource_type>/<resource_id>")
def read(resource_type: str, resource_id: str) -> Response:
    """`GET [base]/[type]/[id]`: one resource this reader may see, else 404 (not told apart)."""
    kind = _type(resource_type)
    rows = list(kind.rows(_reader()).where(kind.model.id == resource_id).limit(1))
    resources = kind.build(rows, Directory.load(_base()))
    if not resources:
        raise NotFound(N_("%(type)s/%(id)s не найден"), type=kind.name, id=resource_id)
    record_access(_reader(), "read", kind.name, resources[:1])
    return _fhir(resources[0])


def everything(reader: Reader, patient_id: str) -> list[Resource]:
    """The patient and all that is recorded about them that the reader may see."""
    directory = Directory.load(_base())
    patient_type = TYPES["Patient"]
    rows = list(patient_type.rows(reader).where(patient_type.model.id == patient_id))
    found = patient_type.build(rows, directory)
    if not found:
        raise NotFound(N_("%(type)s/%(id)s не найден"), type="Patient", id=patient_id)
    resources = list(found)
    for name in _EVERYTHING_TYPES:
        kind = TYPES[name]
        assert kind.of_patient is not None
        rows = list(kind.rows(reader).where(kind.of_patient(patient_id)).order_by(kind.model.id))
        resources.extend(kind.build(rows, directory))
    referenced: dict[str, set[str]] = {"Practitioner": set(), "Organization": set()}
    for target in _references(resources):
        match = _REFERENCE.match(target)
        if match:
            referenced[match.group(1)].add(match.group(2))
    for name, ids in referenced.items():
        if ids:
            kind = TYPES[name]
            rows = list(kind.rows(reader).where(kind.model.id.in_(ids)).order_by(kind.model.id))
            resources.extend(kind.build(rows, directory))
    return resources


def _references(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            yield value["reference"]
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


@bp.get("/Patient/<patient_id>/$everything")
def patient_everything(patient_id: str) -> Response:
    """`Patient/[id]/$everything`: a searchset Bundle of the patient's record."""
    resources = everything(_reader(), patient_id)
    record_access(_reader(), "everything", "Patient", resources, patient=patient_id)
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": f"{_base()}Patient/{patient_id}/$everything"}],
        "entry": [_entry(r, "match" if i == 0 else "include") for i, r in enumerate(resources)],
    }
    return _fhir(bundle)


@bp.get("/Binary/<attachment_id>")
def binary(attachment_id: str) -> Response:
    """A document's or an ИДС scan's bytes, as stored (the attachments' `url`)."""
    attachment = (
        Attachment.select(Attachment, Appeal)
        .join(Appeal, on=(Attachment.appeal == Appeal.id))
        .where(
            (Attachment.id == attachment_id)
            & (Attachment.deleted == False)  # noqa: E712
            & Attachment.kind.in_([*DOCUMENT_KINDS, AttachmentKind.CONSENT])
            & _reader().appeals()
        )
        .first()
    )
    if attachment is None:
        raise NotFound(N_("%(type)s/%(id)s не найден"), type="Binary", id=attachment_id)
    blobs: BlobStore = current_app.extensions["blobs"]
    try:
        data = blobs.read(attachment.sha256)
    except (FileNotFoundError, OSError, *USER_ERRORS) as exc:
        raise NotFound(N_("Файл %(id)s ещё не получен центром"), id=attachment_id) from exc
    record_access(
        _reader(), "binary", "Binary", ids=[f"Binary/{attachment_id}"], patient=attachment.appeal.patient_id
    )
    return Response(data, content_type=attachment.content_type or "application/octet-stream")
