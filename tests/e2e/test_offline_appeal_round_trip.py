"""A post works with central down; the appeal arrives once; the protocol comes back as PDF."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.helpers.cluster import ApiClient, Cluster, eventually, login_works


# Both ways central is served: Werkzeug (the demo's) and gunicorn (production's).
@pytest.fixture(params=["werkzeug", "gunicorn"])
def cluster(tmp_path: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path, central_server=request.param)
    yield cluster
    cluster.stop_all()


def _central_count(cluster: Cluster, appeal_id: str) -> int:
    db = Path(cluster.plan["central"]["dir"]) / "central.db"  # type: ignore[index]
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM appeal WHERE id = ?", (appeal_id,)).fetchone()[0])


def test_appeal_made_offline_reaches_the_consultant_once_and_the_protocol_returns(
    cluster: Cluster,
) -> None:
    cluster.start_central()
    cluster.start_post(0)
    post = cluster.post_url(0)
    eventually(lambda: login_works(post, "fap1"), what="first sync of the feldsher's login")
    cluster.stop_central(kill=True)

    feldsher = ApiClient(post, "fap1")
    patient = feldsher.post(
        "/api/v1/patients",
        json={
            "last_name": "Громова",
            "first_name": "Вера",
            "middle_name": "Ильинична",
            "birth_date": "1956-03-14",
            "sex": "female",
            "snils": "123-456-789 64",
            "phone": "8 (920) 111-22-33",
        },
    )
    assert patient.status_code == 201, patient.text
    consultants = feldsher.get("/api/v1/consultants", params={"name": "Иванова"}).json()["consultants"]
    doctor = consultants[0]["id"]
    slot = feldsher.get(f"/api/v1/consultants/{doctor}/slots").json()["slots"][0]
    created = feldsher.post(
        "/api/v1/appeals",
        json={
            "patient": patient.json()["id"],
            "consultant": doctor,
            "slot": slot["id"],
            "form_of_care": "planned",
            "kind": "primary",
            "contact_mode": "video",
            "question": "Давление 190/110 на фоне терапии: как скорректировать лечение?",
            "consent_by": "patient",  # the ИДС to the consultation
            "complaints": "Головная боль, мелькание мушек",
            "exam_data": "АД 190/110, ЧСС 88",
        },
    )
    assert created.status_code == 201, created.text
    appeal_id = created.json()["id"]
    listed = feldsher.get("/api/v1/appeals").json()["appeals"]
    assert [a["reached_centre"] for a in listed if a["id"] == appeal_id] == [False]
    feldsher.post("/api/v1/sync/now")
    eventually(
        lambda: feldsher.get("/api/v1/sync/status").json()["state"] == "offline",
        what="the node to notice central is down",
    )

    cluster.start_central()
    feldsher.post("/api/v1/sync/now")
    consultant = ApiClient(cluster.central_url, "ivanova")
    eventually(
        lambda: appeal_id in [a["id"] for a in consultant.get("/api/v1/appeals").json()["appeals"]],
        what="the appeal in «Новые обращения»",
    )
    assert _central_count(cluster, appeal_id) == 1
    eventually(
        lambda: feldsher.get(f"/api/v1/appeals/{appeal_id}").json()["reached_centre"],
        what="the post to see the appeal reached the centre",
    )

    taken = consultant.post(f"/api/v1/appeals/{appeal_id}/take")
    if slot_too_far(taken):
        pytest.fail(f"the first free slot is not within 15 minutes: {taken.text}")
    assert taken.status_code == 200, taken.text
    sent = consultant.post(
        f"/api/v1/appeals/{appeal_id}/protocol",
        json={
            "anamnesis": "Артериальная гипертензия 12 лет",
            "recommendations": "Добавить амлодипин 5 мг вечером; дневник АД две недели",
            "additional_recommendations": "Повторная консультация через 14 дней",
            "diagnoses": [{"code": "I11.9", "title": "Гипертензивная болезнь сердца"}],
        },
    )
    assert sent.status_code == 201, sent.text

    feldsher.post("/api/v1/sync/now")
    closed = eventually(
        lambda: (lambda a: a if a["status"] == "closed" and a["protocol"] else None)(
            feldsher.get(f"/api/v1/appeals/{appeal_id}").json()
        ),
        what="the closed appeal with its protocol at the post",
    )
    # The post sees the diagnosis with its role (the only one is the main one).
    assert closed["protocol"]["diagnoses"] == [
        {"code": "I11.9", "title": "Гипертензивная болезнь сердца", "role": "main"}
    ]
    pdf = eventually(
        lambda: (lambda r: r if r.status_code == 200 else None)(
            feldsher.get(f"/api/v1/appeals/{appeal_id}/protocol.pdf")
        ),
        what="the protocol PDF at the post",
    )
    path = Path(cluster.root) / "protocol.pdf"
    path.write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Добавить амлодипин 5 мг вечером" in text
    assert "Громова Вера Ильинична" in text
    assert _central_count(cluster, appeal_id) == 1


def slot_too_far(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 409 and "15 минут" in response.text
