"""Real processes: with the posts' timers set to ten minutes, a linked post still hears of
central's changes at once, and a feldsher's emergency appeal reaches central at once.

Neither can have come on a timer: the post's sync interval and its safety interval are both
600 s (jittered, so no round comes on the timer before 480 s), far beyond the deadlines here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cluster import ApiClient, Cluster, login_works
from tests.helpers.timing import wait_until

TIMERS_S = 600.0


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path, sync_interval=TIMERS_S, safety_interval=TIMERS_S)
    yield cluster
    cluster.stop_all()


def _linked(cluster: Cluster) -> bool:
    log = (cluster.root / "logs" / "post1.log").read_text(errors="replace")
    return "linked to central for live changes" in log


def _rounds(feldsher: ApiClient) -> int:
    return int(feldsher.get("/api/v1/sync/status").json()["rounds_completed"])


def test_central_pushes_and_a_feldsher_s_write_wakes_the_sync(cluster: Cluster) -> None:
    cluster.start_central()
    cluster.start_post(0)
    post = cluster.post_url(0)
    wait_until(lambda: login_works(post, "fap1"), "the post's first round", interval=0.3)
    wait_until(lambda: _linked(cluster), "the post's live link to central", interval=0.3)
    feldsher = ApiClient(post, "fap1")
    # The link's catch-up round, and the login's own (its access-journal entry is a write).
    wait_until(lambda: feldsher.get("/api/v1/sync/status").json()["state"] == "idle", "the rounds to end")

    # The feldsher's write: an emergency appeal to the duty cardiologist, no «Синхронизировать».
    patient = feldsher.get("/api/v1/patients", params={"q": "8 915 111-22-33"}).json()["patients"][0]
    specialty = next(
        s["id"]
        for s in feldsher.get("/api/v1/specialties").json()["specialties"]
        if s["name"] == "Кардиология"
    )
    created = feldsher.post(
        "/api/v1/appeals",
        json={
            "patient": patient["id"],
            "specialty": specialty,
            "form_of_care": "emergency",
            "question": "Боль за грудиной 40 минут, не проходит после нитроглицерина",
            "consent_by": "patient",  # the ИДС to the consultation
        },
    )
    assert created.status_code == 201, created.text
    appeal_id = created.json()["id"]
    consultant = ApiClient(cluster.central_url, "ivanova")
    wait_until(
        lambda: consultant.get(f"/api/v1/appeals/{appeal_id}").status_code == 200,
        "the emergency appeal at central, woken by the write",
        interval=0.3,
    )

    # Central's changes: the take in work, then the protocol; the post hears of each.
    rounds = _rounds(feldsher)
    taken = consultant.post(f"/api/v1/appeals/{appeal_id}/take")
    assert taken.status_code == 200, taken.text
    wait_until(
        lambda: feldsher.get(f"/api/v1/appeals/{appeal_id}").json()["status"] == "in_work",
        "the take in work at the post, pushed",
        interval=0.3,
    )
    sent = consultant.post(
        f"/api/v1/appeals/{appeal_id}/protocol",
        json={"anamnesis": "ИБС", "recommendations": "Вызов СМП, транспортировка в ЧКВ-центр"},
    )
    assert sent.status_code == 201, sent.text
    wait_until(
        lambda: feldsher.get(f"/api/v1/appeals/{appeal_id}").json()["status"] == "closed",
        "the protocol at the post, pushed",
        interval=0.3,
    )
    assert _rounds(feldsher) > rounds
