"""After a real sync with a file attached, no byte under the post's data directory names a patient;
after a restart the post shows its login page only, and the sync runs again once a feldsher logs in."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import requests

from runtime.processes import stop
from sync.db import SQLITE_HEADER
from tests.helpers.cluster import ApiClient, Cluster, eventually, login_works

QUIET = {"FAPLINK_CENTRAL_LINK": "false", "FAPLINK_LINK_CHECK_ENABLED": "false"}


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path, sync_interval=3600)
    cluster.env.update(QUIET)
    yield cluster
    cluster.stop_all()


def _book_with_file(feldsher: ApiClient, patient: dict, content: bytes) -> str:  # type: ignore[type-arg]
    doctor = feldsher.get("/api/v1/consultants", params={"name": "Иванова"}).json()["consultants"][0]
    slot = feldsher.get(f"/api/v1/consultants/{doctor['id']}/slots").json()["slots"][0]
    appeal = feldsher.post(
        "/api/v1/appeals",
        json={
            "patient": patient["id"],
            "consultant": doctor["id"],
            "slot": slot["id"],
            "form_of_care": "planned",
            "question": f"Пациентка {patient['last_name']}: выписка во вложении",
            "consent_by": "patient",
        },
    ).json()
    sent = feldsher.post(
        f"/api/v1/appeals/{appeal['id']}/attachments", files={"file": ("vypiska.txt", content)}
    )
    assert sent.status_code == 201, sent.text
    return str(sent.json()["sha256"])


def _rounds(client: ApiClient) -> int:
    return int(client.get("/api/v1/sync/status").json()["rounds_completed"])


def test_nothing_under_the_post_is_readable_and_it_opens_at_a_login(cluster: Cluster) -> None:
    cluster.start_central()
    cluster.start_post(0, key_file=False)  # no TPM, no key file: as a kiosk without a TPM
    post = cluster.post_url(0)
    post_dir = Path(cluster.plan["posts"][0]["dir"])  # type: ignore[index]
    eventually(lambda: login_works(post, "fap1"), what="the first sync of the feldsher's login")

    feldsher = ApiClient(post, "fap1")
    patient = feldsher.get("/api/v1/patients", params={"q": "+79151112233"}).json()["patients"][0]
    snils = str(patient["snils"])
    content = f"Выписка. {patient['last_name']} {patient['first_name']}, СНИЛС {snils}\n".encode() * 2000
    sha = _book_with_file(feldsher, patient, content)
    feldsher.post("/api/v1/sync/now")
    central_blob = Path(cluster.plan["central"]["dir"]) / "blobs" / sha[:2] / sha  # type: ignore[index]
    eventually(lambda: central_blob.is_file(), what="the file at central")
    assert central_blob.read_bytes() == content  # central's store is plain, on the server's disk
    stop(cluster.posts.pop(0))

    raw = (post_dir / "node.db").read_bytes()
    assert not raw.startswith(SQLITE_HEADER)
    digits = re.sub(r"\D", "", snils)
    needles = [patient["last_name"], patient["first_name"], snils, digits, "Выписка"]
    files = [p for p in post_dir.rglob("*") if p.is_file()]
    assert any(p.name == sha for p in files)  # the attached file is there, sealed
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            for encoded in (needle.encode(), needle.encode("utf-16-le")):
                assert encoded not in data, f"{needle!r} in {path.relative_to(post_dir)}"
    assert stat.S_IMODE(post_dir.stat().st_mode) == 0o700
    for path in [post_dir / "node.db", post_dir / "keyring.json", *(post_dir / "blobs").rglob("*")]:
        if path.exists():
            expected = 0o700 if path.is_dir() else 0o600
            assert stat.S_IMODE(path.stat().st_mode) == expected, path
    central_dir = Path(cluster.plan["central"]["dir"])  # type: ignore[index]
    assert stat.S_IMODE(central_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((central_dir / "central.db").stat().st_mode) == 0o600

    # A reboot: the post shows its login page only; a wrong password opens nothing.
    cluster.start_post(0, key_file=False)
    post = cluster.post_url(0)
    assert requests.get(f"{post}/api/v1/patients", timeout=10).status_code == 503
    wrong = requests.post(f"{post}/api/v1/session", json={"login": "fap1", "password": "nope"}, timeout=30)
    assert wrong.status_code == 401
    assert requests.get(f"{post}/api/v1/patients", timeout=10).status_code == 503
    feldsher = ApiClient(post, "fap1")  # the right one opens the data and logs in at once
    found = feldsher.get("/api/v1/patients", params={"q": "+79151112233"}).json()["patients"]
    assert [p["id"] for p in found] == [patient["id"]]
    before = _rounds(feldsher)
    feldsher.post("/api/v1/sync/now")
    eventually(lambda: _rounds(feldsher) > before, what="a sync round after the login")
    assert feldsher.get("/api/v1/sync/status").json()["last_error"] in (None, "")
