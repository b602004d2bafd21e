"""A whole appeal through both apps with debug logging on: no log line holds the patient's
surname, SNILS (with or without dashes, URL-encoded) or phone (152-ФЗ)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from faplink.demo_seed import make_snils
from tests.helpers.cluster import ApiClient, Cluster, eventually, login_works

SURNAME = "Небылицына"
SNILS = make_snils("151515151")
PHONE = "+79165551234"


def _forms(snils: str) -> list[str]:
    dashed = f"{snils[0:3]}-{snils[3:6]}-{snils[6:9]} {snils[9:]}"
    return [snils, dashed, quote(dashed), dashed.replace(" ", "+"), quote(dashed.replace(" ", "+"))]


def test_debug_logs_of_a_whole_appeal_hold_no_personal_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAPLINK_LOG_LEVEL", "DEBUG")
    cluster = Cluster(tmp_path)
    try:
        cluster.start_central()
        cluster.start_post(0)
        post = cluster.post_url(0)
        eventually(lambda: login_works(post, "fap1"), what="the first sync of the feldsher's login")
        feldsher = ApiClient(post, "fap1")
        patient = feldsher.post(
            "/api/v1/patients",
            json={
                "last_name": SURNAME,
                "first_name": "Олеся",
                "middle_name": "Игоревна",
                "birth_date": "1969-04-02",
                "sex": "female",
                "snils": SNILS,
                "phone": "8 (916) 555-12-34",
            },
        )
        assert patient.status_code == 201, patient.text
        patient_id = patient.json()["id"]
        # Searches as the feldsher types them: by surname, by SNILS, by phone, page and API.
        for query in (SURNAME, _forms(SNILS)[1], "89165551234"):
            found = feldsher.get("/api/v1/patients", params={"q": query}).json()["patients"]
            assert patient_id in [p["id"] for p in found], query
            assert feldsher.http.get(f"{post}/patients", params={"q": query}, timeout=10).status_code == 200
        doctor = feldsher.get("/api/v1/consultants", params={"name": "Иванова"}).json()["consultants"][0][
            "id"
        ]
        created = feldsher.post(
            "/api/v1/appeals",
            json={
                "patient": patient_id,
                "consultant": doctor,
                "form_of_care": "urgent",
                "kind": "primary",
                "contact_mode": "chat",
                "question": "Одышка при нагрузке: нужна ли госпитализация?",
                "consent_by": "patient",
            },
        )
        assert created.status_code == 201, created.text
        appeal_id = created.json()["id"]
        feldsher.post("/api/v1/sync/now")

        consultant = ApiClient(cluster.central_url, "ivanova")
        eventually(
            lambda: appeal_id in [a["id"] for a in consultant.get("/api/v1/appeals").json()["appeals"]],
            what="the appeal at central",
        )
        for params in ({"q": SURNAME, "snils": _forms(SNILS)[1]}, {"q": PHONE}):
            assert consultant.http.get(f"{cluster.central_url}/appeals", params=params, timeout=10).ok
        assert consultant.http.get(f"{cluster.central_url}/appeals/{appeal_id}", timeout=10).ok
        assert consultant.post(f"/api/v1/appeals/{appeal_id}/take").status_code == 200
        sent = consultant.post(
            f"/api/v1/appeals/{appeal_id}/protocol",
            json={
                "anamnesis": "Одышка полгода",
                "recommendations": "ЭКГ, общий анализ крови; повторно через неделю",
                "diagnoses": [{"code": "I50.9", "role": "main"}],
            },
        )
        assert sent.status_code == 201, sent.text
        assert consultant.http.get(
            f"{cluster.central_url}/api/v1/appeals/{appeal_id}/protocol.pdf", timeout=30
        ).ok
        feldsher.post("/api/v1/sync/now")
        eventually(
            lambda: feldsher.get(f"/api/v1/appeals/{appeal_id}").json()["status"] == "closed",
            what="the protocol back at the post",
        )
    finally:
        cluster.stop_all()

    logs = cluster.logs()
    # Debug logging was on (the kiosk's sync rounds), and the searches' requests were logged.
    assert "DEBUG sync.client: pushed" in logs and "GET /api/v1/patients?" in logs
    secrets = [SURNAME, SURNAME.upper(), quote(SURNAME), PHONE, PHONE[1:], "9165551234", quote(PHONE)]
    secrets += _forms(SNILS)
    found = {secret for secret in secrets if secret in logs}
    assert not found, f"personal data in the logs: {found}"
