"""A kiosk whose clock jumps between rounds: the hello is refused as stale, the clock re-measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.processes import stop
from tests.helpers.cluster import (
    PATIENT_PHONE,
    ApiClient,
    Cluster,
    central_patient_field,
    eventually,
    login_works,
    sync_round,
)

SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path, sync_interval=3600)
    yield cluster
    cluster.stop_all()


def test_a_clock_that_jumps_seven_days_between_rounds_still_syncs(cluster: Cluster) -> None:
    cluster.start_central()
    cluster.start_post(0)
    post = cluster.post_url(0)
    eventually(lambda: login_works(post, "fap1"), what="the first sync")
    feldsher = ApiClient(post, "fap1")
    sync_round(feldsher)
    assert abs(feldsher.get("/api/v1/sync/status").json()["clock_offset_ms"] or 0) < 60_000

    # The kiosk restarts with its clock a week ahead; the offset it stored is now wrong.
    stop(cluster.posts.pop(0))
    cluster.start_post(0, prefix=["faketime", "-f", "+7d"])
    feldsher = ApiClient(post, "fap1")
    patient = feldsher.get("/api/v1/patients", params={"q": PATIENT_PHONE}).json()["patients"][0]["id"]
    edited = feldsher.http.patch(
        f"{post}/api/v1/patients/{patient}", json={"address": "д. Сосновка, после скачка часов"}, timeout=10
    )
    assert edited.status_code == 200
    sync_round(feldsher)
    # Writes and central's pushes start rounds of their own now: wait for the one that ends idle.
    status = eventually(
        lambda: (s := feldsher.get("/api/v1/sync/status").json())["state"] == "idle" and s,
        what="the post idle after its round",
    )
    assert status["state"] == "idle" and status["last_error"] is None
    assert abs(status["clock_offset_ms"] + SEVEN_DAYS_MS) < 60_000, status["clock_offset_ms"]
    assert central_patient_field(cluster, patient, "address") == "д. Сосновка, после скачка часов"
