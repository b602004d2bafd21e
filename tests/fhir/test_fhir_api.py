"""The FHIR R4 API at central: a region's МИС reads what a consultation recorded.

A feldsher's appeal with the ИДС, vitals and an HbA1c; the consultant's protocol
with МКБ-10 diagnoses in their roles and the signed PDF: `$everything` returns all
of it as R4 resources, search narrows it, and only those who may see the patient
on central's pages (or a region's МИС with a live token) get anything.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import pytest

from central.fhir import tokens
from central.fhir.systems import DIAGNOSIS_ROLE, ENP, ICD10_RU, LOINC, SNILS, UCUM
from domain.booking import book_appeal
from domain.models import AccessAction, AccessEntry, Region, Staff
from runtime.logs import PrivacyFilter
from tests.helpers.fhir import (
    CONSENT_SCAN,
    DETACHED_SIGNATURE,
    SIGNED_PDF,
    WalkedAppeal,
    validate,
    walk_one_appeal,
)
from tests.helpers.web import login


@pytest.fixture
def walked(central_app) -> tuple[Any, Any, WalkedAppeal]:  # type: ignore[no-untyped-def]
    app, data = central_app
    client = app.test_client()
    return app, client, walk_one_appeal(app, client, data)


def data_staff(client: Any) -> str:
    """The id of the staff member logged in on this test client."""
    with client.session_transaction() as session:
        return str(session["staff_id"])


def _by_type(bundle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        out.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    return out


def _search(client: Any, path: str, **headers: str) -> dict[str, Any]:
    response = client.get(f"/fhir/R4/{path}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("application/fhir+json")
    bundle = response.get_json()
    validate(bundle)
    return bundle  # type: ignore[no-any-return]


def test_everything_of_one_appeal_walked_through(walked) -> None:  # type: ignore[no-untyped-def]
    app, client, case = walked
    bundle = _search(client, f"Patient/{case.patient.id}/$everything")
    for entry in bundle["entry"]:
        validate(entry["resource"])
        assert entry["fullUrl"].endswith(
            f"/fhir/R4/{entry['resource']['resourceType']}/{entry['resource']['id']}"
        )
    found = _by_type(bundle)

    (patient,) = found["Patient"]
    assert {"system": SNILS, "value": case.patient.snils, "use": "official"} in patient["identifier"]
    assert {"system": ENP, "value": case.patient.enp, "use": "official"} in patient["identifier"]
    assert patient["name"][0]["family"] == "Кузьмин"

    (request,) = found["ServiceRequest"]
    assert request["id"] == case.appeal.id
    assert (request["status"], request["priority"]) == ("completed", "routine")
    assert request["requester"]["reference"] == f"Practitioner/{case.feldsher.id}"
    assert request["performer"] == [
        {"reference": f"Practitioner/{case.consultant.id}", "display": case.consultant.full_name}
    ]
    assert request["performerType"]["text"] == "Кардиология"
    assert request["reasonCode"][0]["text"] == case.appeal.question

    vitals = {o["code"]["coding"][0]["code"]: o for o in found["Observation"]}
    assert set(vitals) == {"8480-6", "8462-4", "8867-4", "4548-4"}
    systolic, hba1c = vitals["8480-6"], vitals["4548-4"]
    assert systolic["code"]["coding"][0]["system"] == LOINC
    assert systolic["valueQuantity"] == {"value": 168.0, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}
    assert systolic["device"] == {"display": "Тонометр Omron M2 № OM-2231"}
    assert systolic["category"][0]["coding"][0]["code"] == "vital-signs"
    assert {"reference": f"Organization/{case.appeal.post_id}"} in systolic["performer"]
    assert systolic["basedOn"] == [{"reference": f"ServiceRequest/{case.appeal.id}"}]
    assert hba1c["category"][0]["coding"][0]["code"] == "laboratory"
    assert (hba1c["valueQuantity"]["code"], hba1c["method"]["text"]) == ("%", "введено вручную")
    assert "device" not in hba1c

    (protocol,) = found["Composition"]
    titles = [s["title"] for s in protocol["section"]]
    assert titles == ["Анамнез", "Рекомендации", "Дополнительные рекомендации", "Диагнозы"]
    assert "Сахарный диабет 2 типа" in protocol["section"][0]["text"]["div"]
    assert protocol["author"][0]["reference"] == f"Practitioner/{case.consultant.id}"
    conditions = {c["id"]: c for c in found["Condition"]}
    in_order = [conditions[e["reference"].split("/")[1]] for e in protocol["section"][3]["entry"]]
    assert [(c["code"]["coding"][0]["system"], c["code"]["coding"][0]["code"]) for c in in_order] == [
        (ICD10_RU, "I10"),
        (ICD10_RU, "I50.0"),
        (ICD10_RU, "E11.9"),
    ]
    roles = [
        next(cat for cat in c["category"] if cat["coding"][0]["system"] == DIAGNOSIS_ROLE) for c in in_order
    ]
    assert [r["coding"][0]["code"] for r in roles] == ["1", "2", "3"]
    assert in_order[0]["code"]["coding"][0]["display"] == "Эссенциальная [первичная] гипертензия"

    documents = {d["category"][0]["coding"][0]["code"]: d for d in found["DocumentReference"]}
    assert set(documents) == {"protocol_pdf", "signed_protocol", "protocol_sig"}
    pdf, signed, signature = (
        documents["protocol_pdf"],
        documents["signed_protocol"],
        documents["protocol_sig"],
    )
    assert signed["relatesTo"] == [
        {"code": "transforms", "target": {"reference": f"DocumentReference/{pdf['id']}"}}
    ]
    assert {"reference": f"Composition/{protocol['id']}"} in signed["context"]["related"]
    assert signature["relatesTo"] == [
        {"code": "signs", "target": {"reference": f"DocumentReference/{signed['id']}"}}
    ]
    assert signature["content"][0]["attachment"]["contentType"] == "application/pkcs7-signature"
    assert (
        client.get(urlsplit(signature["content"][0]["attachment"]["url"]).path).get_data()
        == DETACHED_SIGNATURE
    )
    url = urlsplit(signed["content"][0]["attachment"]["url"]).path
    assert client.get(url).get_data() == SIGNED_PDF
    assert client.get(urlsplit(pdf["content"][0]["attachment"]["url"]).path).get_data()[:5] == b"%PDF-"

    (consent,) = found["Consent"]
    assert consent["patient"] == {"reference": f"Patient/{case.patient.id}"}
    assert consent["performer"] == [{"reference": f"Patient/{case.patient.id}"}]
    assert consent["provision"]["data"][0]["reference"] == {"reference": f"ServiceRequest/{case.appeal.id}"}
    assert client.get(urlsplit(consent["sourceAttachment"]["url"]).path).get_data() == CONSENT_SCAN

    people = {p["id"] for p in found["Practitioner"]}
    assert people == {case.feldsher.id, case.consultant.id}
    assert case.appeal.post_id in {o["id"] for o in found["Organization"]}


def test_search_narrows_and_pages(walked) -> None:  # type: ignore[no-untyped-def]
    app, client, case = walked
    pid = case.patient.id

    bundle = _search(client, f"Patient?identifier={SNILS}|{case.patient.snils}")
    assert [e["resource"]["id"] for e in bundle["entry"]] == [pid]
    assert _search(client, f"Patient?identifier={ENP}|{case.patient.enp}")["total"] == 1
    assert _search(client, f"Patient?identifier={ENP}|{case.patient.snils}")["total"] == 0
    assert _search(client, "Patient?name=кузьмин пётр")["total"] == 1
    assert _search(client, "Patient?name=Сидорова")["total"] == 0  # not a patient of her appeals
    posted = client.post(
        "/fhir/R4/Patient/_search", data={"name": "кузьмин"}, headers={"X-CSRF-Token": case.token}
    )
    assert posted.get_json()["total"] == 1  # a session's POST carries its CSRF token like any other

    systolic = _search(client, f"Observation?patient={pid}&code={LOINC}|8480-6")
    assert [e["resource"]["valueQuantity"]["value"] for e in systolic["entry"]] == [168.0]
    taken = case.appeal.created_at.date().isoformat()
    assert _search(client, f"Observation?patient=Patient/{pid}&date=ge{taken}")["total"] == 4
    assert _search(client, f"Observation?patient={pid}&date=lt{taken}")["total"] == 0

    assert _search(client, f"ServiceRequest?patient={pid}&status=completed")["total"] == 1
    assert _search(client, f"ServiceRequest?patient={pid}&status=active")["total"] == 0
    assert _search(client, f"Composition?patient={pid}")["total"] == 1

    first = _search(client, f"Observation?patient={pid}&_count=3")
    assert (first["total"], len(first["entry"])) == (4, 3)
    (following,) = [link["url"] for link in first["link"] if link["relation"] == "next"]
    rest = _search(client, following.split("/fhir/R4/", 1)[1])
    assert len(rest["entry"]) == 1
    assert not [link for link in rest["link"] if link["relation"] == "next"]
    ids = {e["resource"]["id"] for e in first["entry"]} | {e["resource"]["id"] for e in rest["entry"]}
    assert len(ids) == 4

    for unsupported in ("value-quantity=gt100", "_include=Observation:performer"):
        refused = client.get(f"/fhir/R4/Observation?patient={pid}&{unsupported}")
        assert refused.status_code == 400
        assert refused.get_json()["resourceType"] == "OperationOutcome"


def test_who_may_read(walked) -> None:  # type: ignore[no-untyped-def]
    app, client, case = walked
    pid = case.patient.id
    everything = f"/fhir/R4/Patient/{pid}/$everything"

    anonymous = app.test_client()
    refused = anonymous.get(everything)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    validate(refused.get_json())
    assert anonymous.get("/fhir/R4/metadata").status_code == 200  # the capability statement is open

    neurologist = app.test_client()
    login(neurologist, "kuznetsova")  # another specialty: the appeal is not in her queues
    assert neurologist.get(everything).status_code == 404
    assert neurologist.get(f"/fhir/R4/Patient/{pid}").status_code == 404
    assert neurologist.get(f"/fhir/R4/ServiceRequest/{case.appeal.id}").status_code == 404
    assert _search(neurologist, f"Observation?patient={pid}")["total"] == 0
    assert _search(neurologist, "Organization")["total"] > 0  # directories are open

    engineer = app.test_client()
    login(engineer, "engineer")
    assert engineer.get(everything).status_code == 403

    admin = app.test_client()
    login(admin, "admin")
    assert admin.get(everything).status_code == 200

    with app.app_context():
        row, token = tokens.issue("МИС «Барс»", case.patient.organization.region_id, created_by="test")
        other = Region.create(name="Псковская область")
        _, stranger = tokens.issue("МИС соседей", other.id)
    bearer = {"Authorization": f"Bearer {token}"}
    assert anonymous.get(everything, headers=bearer).status_code == 200
    found = _search(anonymous, f"Patient?identifier={SNILS}|{case.patient.snils}", **bearer)
    assert found["total"] == 1
    posted = anonymous.post(
        "/fhir/R4/Patient/_search", data={"identifier": f"{SNILS}|{case.patient.snils}"}, headers=bearer
    )
    assert posted.status_code == 200 and posted.get_json()["total"] == 1  # the SNILS is not in the URL
    assert app.test_client().post("/fhir/R4/Patient/_search", data={"name": "Кузьмин"}).status_code in (
        400,
        401,
    )
    assert anonymous.get(everything, headers={"Authorization": f"Bearer {stranger}"}).status_code == 404
    assert anonymous.get(everything, headers={"Authorization": "Bearer fhir_0000_forged"}).status_code == 401
    assert anonymous.get(everything, headers={"Authorization": f"Basic {token}"}).status_code == 401

    journal = AccessEntry.select().where(AccessEntry.kind.startswith("fhir:")).order_by(AccessEntry.position)
    rows = list(journal)
    assert all(case.patient.snils not in (r.detail + r.records) for r in rows)  # values never kept
    searched = [r for r in rows if r.staff_id is None and r.action == AccessAction.SEARCH]
    assert searched and searched[-1].detail == f"FHIR search token:{row.id} (identifier)"
    assert searched[-1].role == "mis" and searched[-1].patient == case.patient.id
    opened = [r for r in rows if r.role == "admin" and r.kind == "fhir:Patient"]
    assert opened[0].patient == case.patient.id and "Observation/" in opened[0].records
    neurologist_rows = [r for r in rows if r.staff_id == data_staff(neurologist)]
    assert {r.action for r in neurologist_rows} == {AccessAction.SEARCH}  # refused reads leave none
    assert not [r for r in neurologist_rows if "Patient/" in r.records or "Observation/" in r.records]

    with app.app_context():
        tokens.revoke(row.id)
    revoked = anonymous.get(everything, headers=bearer)
    assert revoked.status_code == 401
    assert revoked.get_json()["issue"][0]["code"] == "login"
    assert tokens.FhirToken.get_by_id(row.id).token_hash != token  # stored hashed


def test_the_capability_statement_says_what_is_served(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = central_app
    statement = app.test_client().get("/fhir/R4/metadata").get_json()
    validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    served = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {"Patient", "Observation", "ServiceRequest", "Composition", "DocumentReference", "Consent"} <= set(
        served
    )
    assert served["Patient"]["operation"][0]["name"] == "everything"
    assert {p["name"] for p in served["Observation"]["searchParam"]} >= {"patient", "code", "date"}


def test_request_logs_keep_no_search_parameters() -> None:
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '%s - - [%s] "%s" %s %s',
        (
            "127.0.0.1",
            "07/Dec/2026",
            "GET /fhir/R4/Patient?identifier=urn:oid:1.2.643.100.3|21055667743 HTTP/1.1",
            "200",
            "-",
        ),
        None,
    )
    PrivacyFilter().filter(record)
    line = record.getMessage()
    assert "21055667743" not in line
    assert "GET /fhir/R4/Patient?… HTTP/1.1" in line


def test_a_child_consented_for_by_her_mother(central_app) -> None:  # type: ignore[no-untyped-def]
    from domain.models import Patient, Specialty
    from tests.helpers.data import future_slot

    app, data = central_app
    child = Patient.get_by_id(data.patients["Сидорова Мария Игоревна@1"])
    pediatrician = Staff.get_by_id(data.consultants["popov"])
    appeal = book_appeal(
        patient=child,
        author=Staff.get(Staff.organization == data.posts[0][0]),
        specialty=Specialty.get_by_id(pediatrician.specialty_id),
        consultant=pediatrician,
        slot=future_slot(pediatrician),
        form_of_care="planned",
        question="Кашель две недели",
        consent_by="representative",
    )
    client = app.test_client()
    login(client, "popov")
    found = _by_type(_search(client, f"Patient/{child.id}/$everything"))
    (consent,) = found["Consent"]
    assert consent["id"] == appeal.id
    assert consent["performer"] == [{"display": "Сидорова Елена Андреевна (законный представитель)"}]
    assert "sourceAttachment" not in consent  # no scan was taken
    (patient,) = found["Patient"]
    assert patient["contact"][0]["name"] == {"text": "Сидорова Елена Андреевна"}
    assert "identifier" not in patient  # a child registered by her mother's phone only
