"""A protocol signed with GOST R 34.10-2012 at central reaches the post by sync and is checked there offline.

Real processes: central and a post started as `faplink` commands, the demo centre set up
with `--signer gost` (its GOST test CA and a GOST key per consultant under the demo
password). After the round, central is stopped: the post checks the .p7s on its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cluster import ApiClient, Cluster, eventually, login_works
from tests.helpers.cms import needs_gost

pytestmark = needs_gost


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path, signer="gost")
    yield cluster
    cluster.stop_all()


def test_the_post_checks_the_gost_signature_offline_after_the_sync(cluster: Cluster) -> None:
    cluster.start_central()
    cluster.start_post(0)
    post = cluster.post_url(0)
    eventually(lambda: login_works(post, "fap1"), what="first sync of the feldsher's login")
    feldsher = ApiClient(post, "fap1")
    patient = feldsher.get("/api/v1/patients", params={"q": "Кузьмин"}).json()["patients"][0]
    doctor = feldsher.get("/api/v1/consultants", params={"name": "Иванова"}).json()["consultants"][0]["id"]
    slot = feldsher.get(f"/api/v1/consultants/{doctor}/slots").json()["slots"][0]
    created = feldsher.post(
        "/api/v1/appeals",
        json={
            "patient": patient["id"],
            "consultant": doctor,
            "slot": slot["id"],
            "form_of_care": "planned",
            "kind": "primary",
            "contact_mode": "video",
            "question": "Давление 180/100 на фоне терапии",
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
    taken = consultant.post(f"/api/v1/appeals/{appeal_id}/take")
    if taken.status_code == 409 and "15 минут" in taken.text:
        pytest.fail(f"the first free slot is not within 15 minutes: {taken.text}")
    assert taken.status_code == 200, taken.text
    sent = consultant.post(
        f"/api/v1/appeals/{appeal_id}/protocol",
        json={"anamnesis": "", "recommendations": "Лозартан 50 мг утром", "diagnoses": [{"code": "I10"}]},
    )
    assert sent.status_code == 201, sent.text
    signers = consultant.get("/api/v1/signers").json()
    assert signers["kind"] == "gost"
    signed = consultant.post(
        f"/api/v1/appeals/{appeal_id}/signature",
        json={"signer": signers["signers"][0]["id"], "passphrase": "demo1234"},
    )
    assert signed.status_code == 201, signed.text
    p7s = consultant.get(f"/api/v1/appeals/{appeal_id}/protocol.p7s")
    assert p7s.status_code == 200 and p7s.headers["Content-Type"] == "application/pkcs7-signature"

    feldsher.post("/api/v1/sync/now")
    at_post = eventually(
        lambda: (lambda r: r if r.status_code == 200 else None)(
            feldsher.get(f"/api/v1/appeals/{appeal_id}/protocol.p7s")
        ),
        what="the .p7s at the post",
    )
    assert at_post.content == p7s.content
    cluster.stop_central()
    page = eventually(
        lambda: (lambda html: html if "Подпись действительна" in html else None)(
            feldsher.get(f"/appeals/{appeal_id}").text
        ),
        what="the signature checked at the post",
    )
    assert "Подпись действительна: Иванова Мария Сергеевна" in page
    assert "Скачать подпись (.p7s)" in page
