"""Helpers for the FHIR tests: one appeal walked through, and validation against R4 4.0.1."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import fhir.resources
from fhir.resources import construct_fhir_element
from flask import Flask

from central.fhir.export import EXPORT_ORDER
from domain.models import Appeal, Attachment, AttachmentKind, Exam, Observation, Patient, Staff
from sync.clock import utcnow
from tests.helpers.appeals import PATIENT, in_work

#: fhir.resources 6.4.0: its root package is FHIR R4 (4.0.1); from 6.5.0 it is R4B, from 7.0 R5.
assert fhir.resources.__fhir_version__ == "4.0.1", fhir.resources.__fhir_version__

SIGNED_PDF = b"%PDF-1.7\n% signed copy of the protocol\n%%EOF\n"
DETACHED_SIGNATURE = b"0\x82\x01\x00 a GOST CMS signature of the signed copy"
CONSENT_SCAN = b"\xff\xd8\xff\xe0 scan of the signed consent form"


def validate(resource: dict[str, Any]) -> Any:
    """Parse the resource with the R4 model of its type: raises on anything R4 does not allow."""
    return construct_fhir_element(resource["resourceType"], resource)


@dataclass
class WalkedAppeal:
    appeal: Appeal
    patient: Patient
    consultant: Staff
    feldsher: Staff
    token: str  # the consultant's CSRF token


def walk_one_appeal(app: Flask, client: Any, data: Any) -> WalkedAppeal:
    """A feldsher's appeal with the ИДС and its scan, vitals from a device and an HbA1c typed in;
    the consultant takes it, sends the protocol (I10 main, I50.0 complication, E11.9
    concomitant) and signs it with a detached signature."""
    appeal, token = in_work(client, data)
    patient = Patient.get_by_id(data.patients[PATIENT])
    feldsher = Staff.get_by_id(appeal.author_id)
    consultant = Staff.get_by_id(data.consultants["ivanova"])
    blobs = app.extensions["blobs"]
    taken = utcnow() - timedelta(minutes=30)
    exam = Exam.create(
        patient=patient, post=appeal.post_id, author=feldsher, appeal=appeal, complaints="Головная боль"
    )
    for loinc, value, unit, manual in (
        ("8480-6", 168, "mm[Hg]", False),
        ("8462-4", 98, "mm[Hg]", False),
        ("8867-4", 82, "/min", False),
        ("4548-4", 7.4, "%", True),
    ):
        Observation.create(
            exam=exam,
            loinc=loinc,
            value=value,
            unit=unit,
            taken_at=taken,
            manual=manual,
            device="" if manual else "Тонометр Omron M2",
            device_serial="" if manual else "OM-2231",
        )
    Attachment.create(
        appeal=appeal,
        kind=AttachmentKind.CONSENT,
        filename="ids.jpg",
        content_type="image/jpeg",
        size=len(CONSENT_SCAN),
        sha256=blobs.put(CONSENT_SCAN),
        uploaded_by=feldsher,
    )
    sent = client.post(
        f"/api/v1/appeals/{appeal.id}/protocol",
        json={
            "anamnesis": "Гипертоническая болезнь 10 лет\nСахарный диабет 2 типа",
            "recommendations": "Лозартан 50 мг утром; контроль АД дважды в день",
            "additional_recommendations": "Повторная консультация через месяц",
            "diagnoses": [
                {"code": "I10", "role": "main"},
                {"code": "I50.0", "role": "complication"},
                {"code": "E11.9", "role": "concomitant"},
            ],
        },
        headers={"X-CSRF-Token": token},
    )
    assert sent.status_code == 201, sent.get_json()
    # As a GOST signer leaves it: the signed copy and its detached signature, made together.
    signed = Attachment.create(
        appeal=appeal,
        kind=AttachmentKind.SIGNED_PROTOCOL,
        filename=f"protocol-{appeal.id[:8]}-signed.pdf",
        content_type="application/pdf",
        size=len(SIGNED_PDF),
        sha256=blobs.put(SIGNED_PDF),
        uploaded_by=consultant,
        created_at=utcnow() + timedelta(seconds=1),
    )
    Attachment.create(
        appeal=appeal,
        kind=AttachmentKind.PROTOCOL_SIGNATURE,
        filename=f"{signed.filename}.p7s",
        content_type="application/pkcs7-signature",
        size=len(DETACHED_SIGNATURE),
        sha256=blobs.put(DETACHED_SIGNATURE),
        uploaded_by=consultant,
        created_at=signed.created_at,
    )
    return WalkedAppeal(Appeal.get_by_id(appeal.id), patient, consultant, feldsher, token)


def read_ndjson(out: Path) -> dict[str, list[dict[str, Any]]]:
    """Every file, every line parsed and validated against its R4 model."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name in EXPORT_ORDER:
        lines = (out / f"{name}.ndjson").read_text(encoding="utf-8").splitlines()
        resources = [json.loads(line) for line in lines]
        for resource in resources:
            assert resource["resourceType"] == name
            validate(resource)
        found[name] = resources
    return found
