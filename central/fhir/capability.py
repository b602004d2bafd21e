"""The CapabilityStatement at `[base]/metadata`: what this server reads and searches."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = ["capability_statement", "SEARCH_PARAMETERS"]

#: Resource type → its search parameters and their FHIR types (besides _id, _count).
SEARCH_PARAMETERS: dict[str, dict[str, str]] = {
    "Patient": {"identifier": "token", "name": "string"},
    "Practitioner": {},
    "Organization": {},
    "ServiceRequest": {"patient": "reference", "subject": "reference", "status": "token", "authored": "date"},
    "Observation": {
        "patient": "reference",
        "subject": "reference",
        "code": "token",
        "date": "date",
        "based-on": "reference",
    },
    "Composition": {"patient": "reference", "subject": "reference", "date": "date"},
    "Condition": {"patient": "reference", "subject": "reference"},
    "DocumentReference": {"patient": "reference", "subject": "reference"},
    "Consent": {"patient": "reference"},
}

_SECURITY = (
    "A consultant's or administrator's session at central (the same login as the pages "
    "and /api/v1), or a МИС's token issued by an administrator "
    "(`faplink central fhir-token issue`), sent as `Authorization: Bearer <token>`. "
    "Each reader sees what central's pages show them; a token sees its region's posts."
)


def _software_version() -> str:
    try:
        return version("faplink")
    except PackageNotFoundError:
        return "0"


def capability_statement(base: str) -> dict[str, Any]:
    resources = []
    for name, params in SEARCH_PARAMETERS.items():
        entry: dict[str, Any] = {
            "type": name,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": "_id", "type": "token"},
                *({"name": p, "type": t} for p, t in params.items()),
            ],
        }
        if name == "Patient":
            entry["operation"] = [
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                }
            ]
        resources.append(entry)
    resources.append({"type": "Binary", "interaction": [{"code": "read"}]})
    return {
        "resourceType": "CapabilityStatement",
        "id": "faplink-central",
        "status": "active",
        "date": "2026-12-07",
        "publisher": "faplink",
        "kind": "instance",
        "software": {"name": "faplink central", "version": _software_version()},
        "implementation": {"description": "faplink central: read-only FHIR R4 API", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {"description": _SECURITY},
                "resource": resources,
                "searchParam": [
                    {"name": "_count", "type": "number"},
                ],
            }
        ],
    }
