"""Two central instances on one PostgreSQL with the Redis message queue act as one centre."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import requests
import socketio

from faplink.demo_seed import seed
from faplink.processes import faplink_command, start, stop, wait_http
from sync.changes import latest_stamp
from sync.db import CENTRAL, bind_replica, database, open_database, open_database_url
from sync.migrations import migrate
from sync.server import register_node
from sync.signing import NodeKey
from sync.state import CENTRAL_MIGRATIONS, NODE_MIGRATIONS
from tests.conftest import free_port
from tests.scaled.conftest import REDIS_URL

pytestmark = pytest.mark.slow


def test_a_push_to_one_instance_is_seen_live_on_the_other(tmp_path: Path, pg_url: str) -> None:
    from node.identity import NodeIdentity

    db = open_database_url(pg_url)
    migrate(db, CENTRAL_MIGRATIONS)
    bind_replica(CENTRAL)
    data = seed(days=2)
    post = data.posts[0][0]
    key = NodeKey.generate()
    register_node("kiosk-scaled", post, key.public_hex)
    database.close()

    shared = tmp_path / "central"  # blobs and the session key: shared storage in production
    env = {"FAPLINK_MESSAGE_QUEUE": REDIS_URL}
    ports = [free_port(), free_port()]
    procs = [
        start(
            faplink_command(
                "central", "run", "--port", str(p), "--data", str(shared), "--database-url", pg_url
            ),
            tmp_path / f"central-{p}.log",
            env=env,
        )
        for p in ports
    ]
    try:
        for p, proc in zip(ports, procs, strict=True):
            wait_http(f"http://127.0.0.1:{p}/login", process=proc)
        a, b = (f"http://127.0.0.1:{p}" for p in ports)

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

        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        client.connect(b, headers={"Cookie": cookie}, transports=["websocket"])

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

        sync_client = SyncClient(a, "kiosk-scaled", key, BlobStore(node_dir / "blobs"))
        sync_client.run_round()
        from datetime import date

        from sync.models import Appeal, Patient, Staff

        patient = Patient.create(
            last_name="Яковлева",
            first_name="Ирина",
            birth_date=date(1977, 7, 7),
            sex="female",
            phone="+79165550011",
            organization=post,
        )
        doctor = Staff.get_by_id(data.consultants["ivanova"])
        appeal = Appeal.book(
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
    finally:
        for proc in procs:
            stop(proc)
