"""Wrong kiosk clocks do not reorder edits; two kiosks and central converge field by field."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from domain.models import Patient
from sync.changes import latest_stamp
from sync.clock import Stamp
from sync.db import CENTRAL, bind_replica, connect_file, open_database
from tests.helpers.cluster import (
    PATIENT_PHONE,
    ApiClient,
    Cluster,
    central_patient_field,
    eventually,
    login_works,
    node_data_key,
    sync_round,
)
from tests.helpers.timing import wait_until

SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path, sync_interval=3600)
    # Rounds only when the test or an edit starts one: each round measures central's clock
    # again, and a round the live link started between reading the kiosk's offset and its
    # edit would move what the test waits for.
    cluster.env.update({"FAPLINK_CENTRAL_LINK": "false"})
    yield cluster
    cluster.stop_all()


def _edit_at_central(cluster: Cluster, patient_id: str, **fields: str) -> None:
    db = open_database(Path(cluster.plan["central"]["dir"]) / "central.db")  # type: ignore[index]
    bind_replica(CENTRAL, latest_stamp())
    # Read and write in one transaction: a kiosk's push (each edit at a kiosk starts its round)
    # may be applied meanwhile, and a card read before it must not be saved over it.
    with db.atomic():
        patient = Patient.get_by_id(patient_id)
        for name, value in fields.items():
            setattr(patient, name, value)
        patient.save()
    db.close()


def _central_stamp(cluster: Cluster, patient_id: str, field: str) -> Stamp:
    """The stamp of central's last edit of one field of the card."""
    return Stamp.decode(json.loads(central_patient_field(cluster, patient_id, "field_stamps"))[field])


def _kiosk_stamp(cluster: Cluster, index: int, patient_id: str, field: str) -> Stamp:
    """The stamp of a kiosk's last edit of one field of the card, from its own database."""
    node_dir = Path(cluster.plan["posts"][index]["dir"])  # type: ignore[index]
    with closing(connect_file(node_dir / "node.db", node_data_key(node_dir).database_key)) as conn:
        row = conn.execute("SELECT field_stamps FROM patient WHERE id = ?", (patient_id,)).fetchone()
    return Stamp.decode(json.loads(row[0])[field])


def _now_ms() -> int:
    return int(time.time() * 1000)


def _kiosk_error_ms(client: ApiClient, skew_ms: int = 0) -> int:
    """How far ahead of ours the kiosk's corrected clock runs (what it stamps edits with): its own
    clock is `skew_ms` off, and the offset measured at its last sync undoes that only up to
    half a round trip, which a busy machine makes tens of milliseconds or more."""
    return skew_ms + int(client.get("/api/v1/sync/status").json()["clock_offset_ms"] or 0)


def _wait_until_past(stamp: Stamp, error_ms: int, whose: str) -> None:
    """Wait until a clock that runs `error_ms` ahead of ours has passed `stamp`: an edit made
    by that clock from now on comes after the stamped one, whatever the clocks' errors."""
    passed = f"{whose} clock to pass {stamp.encode()}"
    wait_until(lambda: _now_ms() + error_ms > stamp.wall_ms, passed, interval=0.005)


@pytest.mark.parametrize("skew", ["+7d", "-7d"])
def test_a_kiosk_clock_seven_days_wrong_does_not_reorder_edits(cluster: Cluster, skew: str) -> None:
    cluster.start_central()
    cluster.start_post(0, prefix=["faketime", "-f", skew])
    post = cluster.post_url(0)
    eventually(lambda: login_works(post, "fap1"), what="the first sync (it measures the clock)")
    feldsher = ApiClient(post, "fap1")
    offset = feldsher.get("/api/v1/sync/status").json()["clock_offset_ms"]
    seven_days = 7 * 24 * 3600 * 1000
    assert abs(abs(offset) - seven_days) < 60_000, offset
    patient = feldsher.get("/api/v1/patients", params={"q": PATIENT_PHONE}).json()["patients"][0]["id"]

    skew_ms = SEVEN_DAYS_MS if skew.startswith("+") else -SEVEN_DAYS_MS

    # Kiosk behind: its edit, made after central's, must still win.
    _edit_at_central(cluster, patient, address="адрес из центра, раньше")
    _wait_until_past(
        _central_stamp(cluster, patient, "address"), _kiosk_error_ms(feldsher, skew_ms), "the kiosk's"
    )
    assert (
        feldsher.http.patch(
            f"{post}/api/v1/patients/{patient}", json={"address": "адрес с поста, позже"}, timeout=10
        ).status_code
        == 200
    )
    sync_round(feldsher)
    assert central_patient_field(cluster, patient, "address") == "адрес с поста, позже"

    # Kiosk ahead: central's edit, made after the kiosk's, must win.
    assert (
        feldsher.http.patch(
            f"{post}/api/v1/patients/{patient}", json={"middle_name": "с поста, раньше"}, timeout=10
        ).status_code
        == 200
    )
    _wait_until_past(_kiosk_stamp(cluster, 0, patient, "middle_name"), 0, "central's")
    _edit_at_central(cluster, patient, middle_name="из центра, позже")
    sync_round(feldsher)
    assert central_patient_field(cluster, patient, "middle_name") == "из центра, позже"
    shown = feldsher.get("/api/v1/patients", params={"q": PATIENT_PHONE}).json()["patients"][0]
    assert (shown["address"], shown["middle_name"]) == ("адрес с поста, позже", "из центра, позже")


def test_two_kiosks_and_central_editing_one_patient_converge(cluster: Cluster) -> None:
    cluster.start_central()
    cluster.start_post(0)
    second = cluster.add_kiosk(0)
    a_url, b_url = cluster.post_url(0), cluster.post_url(second)
    for url in (a_url, b_url):
        eventually(lambda url=url: login_works(url, "fap1"), what="first sync of each kiosk")
    a, b = ApiClient(a_url, "fap1"), ApiClient(b_url, "fap1")
    patient = a.get("/api/v1/patients", params={"q": PATIENT_PHONE}).json()["patients"][0]["id"]

    # All three edit, different fields and one field twice (each kiosk's edit starts its round).
    assert (
        a.http.patch(
            f"{a_url}/api/v1/patients/{patient}",
            timeout=10,
            json={"phone": "+79157770001", "last_name": "Кузьмин-А"},
        ).status_code
        == 200
    )
    _wait_until_past(_kiosk_stamp(cluster, 0, patient, "last_name"), _kiosk_error_ms(b), "the second kiosk's")
    assert (
        b.http.patch(
            f"{b_url}/api/v1/patients/{patient}",
            timeout=10,
            json={"address": "ул. Новая, 1", "last_name": "Кузьмин-Б"},
        ).status_code
        == 200
    )
    _edit_at_central(cluster, patient, middle_name="Васильевич-Ц")

    for client in (a, b, a):
        sync_round(client)
    expected = {
        "phone": "+79157770001",
        "address": "ул. Новая, 1",
        "middle_name": "Васильевич-Ц",
        "last_name": "Кузьмин-Б",  # the later of the two edits of one field
    }
    for client in (a, b):
        shown = client.get("/api/v1/patients", params={"q": "+79157770001"}).json()["patients"][0]
        assert {k: shown[k] for k in expected} == expected
    assert {k: central_patient_field(cluster, patient, k) for k in expected} == expected
    central = Path(cluster.plan["central"]["dir"]) / "central.db"  # type: ignore[index]
    with sqlite3.connect(central) as conn:
        audit = [
            row[0]
            for row in conn.execute(
                "SELECT detail FROM sync_event WHERE record_id = ? AND kind = 'merged'", (patient,)
            )
        ]
    assert any("Кузьмин-А" in detail for detail in audit), audit
