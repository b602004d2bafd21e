"""Real processes: the chat crosses between consultant and post within seconds, not sync intervals."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cluster import ApiClient, Cluster, eventually, login_works

#: Each way must take no longer than this (the post's sync timer is set far longer).
LIVE_S = 6.0


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    # A sync interval of a minute: anything faster than that came by the live link.
    cluster = Cluster(tmp_path, sync_interval=60.0)
    yield cluster
    cluster.stop_all()


def _messages(client: ApiClient, appeal_id: str) -> list[dict]:  # type: ignore[type-arg]
    return list(client.get(f"/api/v1/appeals/{appeal_id}/messages").json()["messages"])


def _texts(client: ApiClient, appeal_id: str) -> list[str]:
    return [m["text"] for m in _messages(client, appeal_id)]


def test_messages_cross_both_ways_within_seconds(cluster: Cluster) -> None:
    cluster.start_central()
    cluster.start_post(0)
    post = cluster.post_url(0)
    eventually(lambda: login_works(post, "fap1"), what="the first sync")
    feldsher = ApiClient(post, "fap1")
    patient = feldsher.get("/api/v1/patients", params={"q": "8 915 111-22-33"}).json()["patients"][0]
    doctor = feldsher.get("/api/v1/consultants", params={"name": "Иванова"}).json()["consultants"][0]["id"]
    slot = feldsher.get(f"/api/v1/consultants/{doctor}/slots").json()["slots"][0]
    created = feldsher.post(
        "/api/v1/appeals",
        json={
            "patient": patient["id"],
            "consultant": doctor,
            "slot": slot["id"],
            "form_of_care": "planned",
            "contact_mode": "chat",
            "question": "Одышка при нагрузке: нужна ли госпитализация?",
            "consent_by": "patient",  # the ИДС to the consultation
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
    assert taken.status_code == 200, taken.text
    eventually(
        lambda: feldsher.get(f"/api/v1/appeals/{appeal_id}").json()["status"] == "in_work",
        timeout=LIVE_S,
        what="the take in work to reach the post through the live link",
    )

    sent = consultant.post(f"/api/v1/appeals/{appeal_id}/messages", json={"text": "Пришлите ЭКГ, пожалуйста"})
    assert sent.status_code == 201, sent.text
    eventually(
        lambda: _texts(feldsher, appeal_id) == ["Пришлите ЭКГ, пожалуйста"],
        timeout=LIVE_S,
        what="the consultant's message at the post",
    )

    answer = feldsher.post(
        f"/api/v1/appeals/{appeal_id}/messages",
        data={"text": "ЭКГ во вложении"},
        files={"file": ("экг.txt", "ЭКГ: ритм синусовый, ЧСС 96".encode())},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["delivered"] is False
    eventually(
        lambda: _texts(consultant, appeal_id) == ["Пришлите ЭКГ, пожалуйста", "ЭКГ во вложении"],
        timeout=LIVE_S,
        what="the post's message at central",
    )
    eventually(
        lambda: all(m["delivered"] for m in _messages(feldsher, appeal_id)),
        timeout=LIVE_S,
        what="the post to see its message delivered",
    )
    attachment = consultant.get(f"/api/v1/appeals/{appeal_id}/messages").json()["messages"][1]["attachment"]
    download = eventually(
        lambda: (lambda r: r if r.status_code == 200 else None)(
            consultant.get(f"/appeals/{appeal_id}/files/{attachment['id']}")
        ),
        timeout=LIVE_S,
        what="the post's file at central",
    )
    assert download.content.decode() == "ЭКГ: ритм синусовый, ЧСС 96"
