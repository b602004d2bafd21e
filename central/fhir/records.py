"""Which rows each FHIR resource type is made of, how it is searched, and its batched build.

Each `ResourceType` gives the rows a reader may see (`rows`), the search
parameters it takes (`where`), and builds resources for a batch of rows with a
fixed number of queries whatever the batch's size (`build`): the API's pages,
`$everything` and the bulk export all go through it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from peewee import Expression

from domain.models import (
    CATALOGUE,
    Appeal,
    Attachment,
    AttachmentKind,
    Diagnosis,
    DiagnosisRole,
    Exam,
    Observation,
    Organization,
    Patient,
    Protocol,
    Role,
    Slot,
    Staff,
)
from i18n import N_

from . import mapping, search
from .access import Reader
from .errors import SearchError
from .mapping import Directory, Resource

__all__ = ["ResourceType", "TYPES", "Params"]

#: The query's parameters: name → every value given (a parameter may repeat).
Params = dict[str, list[str]]

_ROLE_ORDER = {DiagnosisRole.MAIN: 0, DiagnosisRole.COMPLICATION: 1, DiagnosisRole.CONCOMITANT: 2}
#: Parameters of the response, not of the search (`_include`, `_sort` … are refused, not ignored).
_PAGING = frozenset({"_count", "_offset", "_format", "_pretty"})


@dataclass(frozen=True)
class ResourceType:
    name: str
    model: Any  # the peewee model whose row is one resource
    rows: Callable[[Reader], Any]  # a peewee select of `model`
    build: Callable[[Sequence[Any], Directory], list[Resource]]
    params: dict[str, Callable[[list[str]], Expression]]
    #: The condition of "this patient's" rows, for `patient=` and `$everything`.
    of_patient: Callable[[str], Expression] | None = None

    def where(self, params: Params) -> list[Expression]:
        """The conditions of a search; an unknown parameter is refused, not ignored."""
        conditions = []
        for name, values in params.items():
            if name in _PAGING:
                continue  # handled by the caller
            parse = self.params.get(name)
            if parse is None:
                raise SearchError(
                    N_("Параметр поиска «%(name)s» не поддерживается для %(type)s"), name=name, type=self.name
                )
            conditions.append(parse(values))
        return conditions


# -- rows and builds ----------------------------------------------------------------------


def _patients(reader: Reader) -> Any:
    return Patient.select().where(reader.patients())


def _build_patients(rows: Sequence[Patient], directory: Directory) -> list[Resource]:
    linked = {row.representative_id for row in rows if row.representative_id}
    names = {p.id: p.full_name for p in Patient.select().where(Patient.id.in_(linked))} if linked else {}
    return [mapping.patient(row, names.get(row.representative_id or "", "")) for row in rows]


def _practitioners(reader: Reader) -> Any:
    return Staff.select().where(
        (Staff.deleted == False) & Staff.role.in_((Role.CONSULTANT, Role.FELDSHER))  # noqa: E712
    )


def _build_practitioners(rows: Sequence[Staff], directory: Directory) -> list[Resource]:
    return [mapping.practitioner(row, directory) for row in rows]


def _organizations(reader: Reader) -> Any:
    return Organization.select().where(Organization.deleted == False)  # noqa: E712


def _build_organizations(rows: Sequence[Organization], directory: Directory) -> list[Resource]:
    return [mapping.organization(row) for row in rows]


def _appeals(reader: Reader) -> Any:
    return Appeal.select().where(reader.appeals())


def _build_service_requests(rows: Sequence[Appeal], directory: Directory) -> list[Resource]:
    slot_ids = {row.slot_id for row in rows if row.slot_id}
    starts = (
        {s.id: s.starts_at for s in Slot.select(Slot.id, Slot.starts_at).where(Slot.id.in_(slot_ids))}
        if slot_ids
        else {}
    )
    return [mapping.service_request(row, directory, starts.get(row.slot_id or "")) for row in rows]


def _observations(reader: Reader) -> Any:
    return (
        Observation.select(Observation, Exam)
        .join(Exam, on=(Observation.exam == Exam.id))
        .where(
            (Observation.deleted == False)  # noqa: E712
            & (Exam.deleted == False)  # noqa: E712
            & Exam.patient.in_(Patient.select(Patient.id).where(reader.patients()))
        )
    )


def _build_observations(rows: Sequence[Observation], directory: Directory) -> list[Resource]:
    return [mapping.observation(row, row.exam) for row in rows if row.loinc in CATALOGUE]


def _protocols(reader: Reader) -> Any:
    return (
        Protocol.select(Protocol, Appeal)
        .join(Appeal, on=(Protocol.appeal == Appeal.id))
        .where((Protocol.deleted == False) & reader.appeals())  # noqa: E712
    )


def _diagnoses_of(protocol_ids: set[str]) -> dict[str, list[Diagnosis]]:
    grouped: dict[str, list[Diagnosis]] = defaultdict(list)
    if not protocol_ids:
        return grouped
    rows = (
        Diagnosis.select()
        .where((Diagnosis.protocol.in_(protocol_ids)) & (Diagnosis.deleted == False))  # noqa: E712
        .order_by(Diagnosis.hlc, Diagnosis.id)
    )
    for row in rows:
        grouped[row.__data__["protocol"]].append(row)
    for items in grouped.values():
        items.sort(key=lambda d: _ROLE_ORDER.get(d.role, len(_ROLE_ORDER)))
    return grouped


def _build_compositions(rows: Sequence[Protocol], directory: Directory) -> list[Resource]:
    diagnoses = _diagnoses_of({row.id for row in rows})
    return [mapping.composition(row, row.appeal, diagnoses.get(row.id, []), directory) for row in rows]


def _diagnoses(reader: Reader) -> Any:
    return (
        Diagnosis.select(Diagnosis, Protocol, Appeal)
        .join(Protocol, on=(Diagnosis.protocol == Protocol.id))
        .join(Appeal, on=(Protocol.appeal == Appeal.id))
        .where((Diagnosis.deleted == False) & (Protocol.deleted == False) & reader.appeals())  # noqa: E712
    )


def _build_conditions(rows: Sequence[Diagnosis], directory: Directory) -> list[Resource]:
    return [mapping.condition(row, row.protocol, row.protocol.appeal, directory) for row in rows]


def _documents(reader: Reader) -> Any:
    return (
        Attachment.select(Attachment, Appeal)
        .join(Appeal, on=(Attachment.appeal == Appeal.id))
        .where(
            (Attachment.deleted == False)  # noqa: E712
            & Attachment.kind.in_(list(mapping.DOCUMENT_KINDS))
            & reader.appeals()
        )
    )


def _relations(row: Attachment, siblings: list[Attachment]) -> list[tuple[str, str]]:
    """The signed copy transforms the PDF; a detached signature signs the latest signed copy
    (or the PDF, if nothing was signed in the PDF itself)."""
    before = [s for s in siblings if s.created_at <= row.created_at and s.id != row.id]
    pdfs = [s for s in before if s.kind == AttachmentKind.PROTOCOL_PDF]
    signed = [s for s in before if s.kind == AttachmentKind.SIGNED_PROTOCOL]
    if row.kind == AttachmentKind.SIGNED_PROTOCOL and pdfs:
        return [("transforms", pdfs[-1].id)]
    if row.kind in mapping.SIGNATURE_KINDS and (signed or pdfs):
        return [("signs", (signed or pdfs)[-1].id)]
    return []


def _build_documents(rows: Sequence[Attachment], directory: Directory) -> list[Resource]:
    appeal_ids = {row.appeal_id for row in rows if row.appeal_id}
    if not appeal_ids:
        return []
    protocols = {
        p.appeal_id: p.id
        for p in Protocol.select(Protocol.id, Protocol.appeal).where(
            Protocol.appeal.in_(appeal_ids) & (Protocol.deleted == False)  # noqa: E712
        )
    }
    siblings: dict[str, list[Attachment]] = defaultdict(list)
    for doc in (
        Attachment.select()
        .where(
            Attachment.appeal.in_(appeal_ids)
            & Attachment.kind.in_(list(mapping.DOCUMENT_KINDS))
            & (Attachment.deleted == False)  # noqa: E712
        )
        .order_by(Attachment.created_at, Attachment.id)
    ):
        siblings[doc.appeal_id or ""].append(doc)
    return [
        mapping.document_reference(
            row,
            row.appeal,  # joined: never None here
            protocols.get(row.appeal_id or ""),
            directory,
            _relations(row, siblings[row.appeal_id or ""]),
        )
        for row in rows
    ]


def _consents(reader: Reader) -> Any:
    return Appeal.select().where((Appeal.consent_by != "") & reader.appeals())


def _build_consents(rows: Sequence[Appeal], directory: Directory) -> list[Resource]:
    ids = {row.id for row in rows}
    scans: dict[str, list[Attachment]] = defaultdict(list)
    if ids:
        for scan in (
            Attachment.select()
            .where(
                Attachment.appeal.in_(ids)
                & (Attachment.kind == AttachmentKind.CONSENT)
                & (Attachment.deleted == False)  # noqa: E712
            )
            .order_by(Attachment.created_at, Attachment.id)
        ):
            scans[scan.appeal_id or ""].append(scan)
    out = [mapping.consent(row, scans[row.id], directory) for row in rows]
    return [resource for resource in out if resource is not None]


def _appeal_of_patient(patient_id: str) -> Expression:
    return Appeal.patient == patient_id


def _observation_of_patient(patient_id: str) -> Expression:
    return Exam.patient == patient_id


TYPES: dict[str, ResourceType] = {
    t.name: t
    for t in (
        ResourceType(
            "Patient",
            Patient,
            _patients,
            _build_patients,
            {
                "_id": search.ids(Patient.id),
                "identifier": search.patient_identifier,
                "name": search.patient_name,
            },
            lambda pid: Patient.id == pid,
        ),
        ResourceType(
            "Practitioner", Staff, _practitioners, _build_practitioners, {"_id": search.ids(Staff.id)}
        ),
        ResourceType(
            "Organization",
            Organization,
            _organizations,
            _build_organizations,
            {"_id": search.ids(Organization.id)},
        ),
        ResourceType(
            "ServiceRequest",
            Appeal,
            _appeals,
            _build_service_requests,
            {
                "_id": search.ids(Appeal.id),
                "patient": search.patient_param(_appeal_of_patient),
                "subject": search.patient_param(_appeal_of_patient),
                "status": search.service_request_status,
                "authored": search.date_parameter(Appeal.created_at),
            },
            _appeal_of_patient,
        ),
        ResourceType(
            "Observation",
            Observation,
            _observations,
            _build_observations,
            {
                "_id": search.ids(Observation.id),
                "patient": search.patient_param(_observation_of_patient),
                "subject": search.patient_param(_observation_of_patient),
                "code": search.observation_code,
                "date": search.date_parameter(Observation.taken_at),
                "based-on": search.ids(Exam.appeal, "ServiceRequest"),
            },
            _observation_of_patient,
        ),
        ResourceType(
            "Composition",
            Protocol,
            _protocols,
            _build_compositions,
            {
                "_id": search.ids(Protocol.id),
                "patient": search.patient_param(_appeal_of_patient),
                "subject": search.patient_param(_appeal_of_patient),
                "date": search.date_parameter(Protocol.sent_at),
            },
            _appeal_of_patient,
        ),
        ResourceType(
            "Condition",
            Diagnosis,
            _diagnoses,
            _build_conditions,
            {
                "_id": search.ids(Diagnosis.id),
                "patient": search.patient_param(_appeal_of_patient),
                "subject": search.patient_param(_appeal_of_patient),
            },
            _appeal_of_patient,
        ),
        ResourceType(
            "DocumentReference",
            Attachment,
            _documents,
            _build_documents,
            {
                "_id": search.ids(Attachment.id),
                "patient": search.patient_param(_appeal_of_patient),
                "subject": search.patient_param(_appeal_of_patient),
            },
            _appeal_of_patient,
        ),
        ResourceType(
            "Consent",
            Appeal,
            _consents,
            _build_consents,
            {"_id": search.ids(Appeal.id), "patient": search.patient_param(_appeal_of_patient)},
            _appeal_of_patient,
        ),
    )
}
