"""Two central instances on one PostgreSQL with the Redis message queue act as one centre."""

from __future__ import annotations

import threading
from pathlib import Path

import requests
import socketio

from domain.booking import book_appeal
from sync.changes import latest_stamp
from sync.db import bind_replica, open_database
from sync.migrations import migrate
from sync.state import NODE_MIGRATIONS
from tests.helpers.cluster import connect_live
from tests.helpers.scaled import TwoCentrals


def test_a_push_to_one_instance_is_seen_live_on_the_other(two_centrals: TwoCentrals, tmp_path: Path) -> None:
    from node.identity import NodeIdentity

    data = two_centrals.data
    post = data.posts[0][0]
    key = two_centrals.register_node("kiosk-scaled")
    a, b = two_centrals.urls
    # A consultant logged in on instance B listens for queue changes.
    http = requests.Session()
    assert (
        http.post(
            f"{b}/api/v1/session", json={"login": "ivanova", "password": "demo1234"}, timeout=10
        ).status_code
        == 200
    )
    seen: list[object] = []
    got = threading.Event()
    client = socketio.Client()

    @client.on("*")
    def any_event(event: str, payload: object = None) -> None:
        seen.append((event, payload))
        got.set()

    connect_live(client, b, http)

    # The post syncs with instance A only.
    node_dir = tmp_path / "post"
    identity = NodeIdentity("kiosk-scaled", post, a, node_dir)
    key.save(identity.key_path)
    identity.save()
    ndb = open_database(node_dir / "node.db")
    migrate(ndb, NODE_MIGRATIONS)
    bind_replica("kiosk-scaled", latest_stamp())
    from sync.blobs import BlobStore
    from sync.client import SyncClient
    from sync.session import CentralSession

    sync_client = SyncClient(CentralSession(a, "kiosk-scaled", key), BlobStore(node_dir / "blobs"))
    sync_client.run_round()
    from datetime import date

    from domain.models import Patient, Staff

    patient = Patient.create(
        last_name="Яковлева",
        first_name="Ирина",
        birth_date=date(1977, 7, 7),
        sex="female",
        phone="+79165550011",
        organization=post,
    )
    doctor = Staff.get_by_id(data.consultants["ivanova"])
    appeal = book_appeal(
        consent_by="patient",  # the ИДС to the consultation
        patient=patient,
        author=Staff.get(Staff.organization == post),
        specialty=doctor.specialty,
        consultant=doctor,
        slot=None,
        form_of_care="emergency",
        question="Боль за грудиной 30 минут",
    )
    sync_client.run_round()
    ndb.close()

    assert got.wait(10), f"no event reached instance B; seen {seen}"
    found = http.get(f"{b}/api/v1/appeals", timeout=10).json()["appeals"]
    assert appeal.id in [item["id"] for item in found]  # B reads what A stored
    client.disconnect()
