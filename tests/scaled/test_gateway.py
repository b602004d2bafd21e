"""One central instance as `faplink central run --workers 2`: web workers behind a realtime gateway.

Posts and consultants keep the one URL: the gateway holds their Socket.IO connections
and hands pages, the API and the sync API to the threaded web workers; what the web
workers announce reaches the gateway's connections through Redis. Hundreds of idle
post links, which would each pin one of gunicorn's 64 threads, leave the sync API
answering.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import redis
import requests
import socketio

from domain.booking import book_appeal
from node.live.link import LINK_PATH, NODE_NAMESPACE, CentralLink
from sync.blobs import BlobStore
from sync.changes import latest_stamp
from sync.client import SyncClient
from sync.db import CENTRAL, bind_replica, database, open_database, open_database_url
from sync.migrations import migrate
from sync.request_signing import NodeKey, signed_headers
from sync.session import CentralSession
from sync.state import NODE_MIGRATIONS
from tests.helpers.chat import appeal_to, feldsher, in_work
from tests.helpers.cluster import ApiClient, connect_live
from tests.helpers.scaled import REDIS_URL, GatewayCentral, Party
from tests.helpers.timing import wait_until

#: Idle post links held at once: far more than a threaded worker's 64.
IDLE_LINKS = 300


def _post_node(central: GatewayCentral, node_id: str, key: NodeKey, node_dir: Path) -> SyncClient:
    """A post's node store (SQLite, this process) syncing with the instance; its database is open."""
    from node.identity import NodeIdentity

    identity = NodeIdentity(node_id, central.data.posts[0][0], central.url, node_dir)
    key.save(identity.key_path)
    identity.save()
    ndb = open_database(node_dir / "node.db")
    migrate(ndb, NODE_MIGRATIONS)
    bind_replica(node_id, latest_stamp())
    return SyncClient(CentralSession(central.url, node_id, key), BlobStore(node_dir / "blobs"))


def test_a_consultants_page_hears_of_an_appeal_a_post_pushes_through_the_gateway(
    gateway_central: GatewayCentral, tmp_path: Path
) -> None:
    from domain.models import Patient, Staff

    central = gateway_central
    key = central.register_node("kiosk-gateway")
    http = requests.Session()
    credentials = {"login": "ivanova", "password": "demo1234"}
    login = http.post(f"{central.url}/api/v1/session", json=credentials, timeout=10)
    assert login.status_code == 200
    heard: list[tuple[str, Any]] = []
    page = socketio.Client(reconnection=False)

    @page.on("*")
    def any_event(event: str, payload: Any = None) -> None:
        heard.append((event, payload))

    connect_live(page, central.url, http)
    # A second tab where WebSocket is blocked: Engine.IO's long-polling, through the same gateway.
    polled: list[str] = []
    polling_page = socketio.Client(reconnection=False)

    @polling_page.on("*")
    def any_polled_event(event: str, payload: Any = None) -> None:
        polled.append(event)

    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    polling_page.connect(central.url, headers={"Cookie": cookie}, transports=["polling"])
    try:
        sync = _post_node(central, "kiosk-gateway", key, tmp_path / "post")
        sync.run_round()
        post = central.data.posts[0][0]
        patient = Patient.create(
            last_name="Яковлева",
            first_name="Ирина",
            birth_date=date(1977, 7, 7),
            sex="female",
            phone="+79165550011",
            organization=post,
        )
        doctor = Staff.get_by_id(central.data.consultants["ivanova"])
        appeal = book_appeal(
            consent_by="patient",
            patient=patient,
            author=Staff.get(Staff.organization == post),
            specialty=doctor.specialty,
            consultant=doctor,
            slot=None,
            form_of_care="emergency",
            question="Боль за грудиной 30 минут",
        )
        sync.run_round()
        database.close()

        wait_until(lambda: [e for e, _p in heard if e == "appeals_changed"], "appeals_changed on the page")
        wait_until(lambda: "appeals_changed" in polled, "appeals_changed on the long-polling page")
        listed = http.get(f"{central.url}/api/v1/appeals", timeout=10).json()["appeals"]
        assert appeal.id in [item["id"] for item in listed]
    finally:
        page.disconnect()
        polling_page.disconnect()


def test_a_posts_live_link_through_the_gateway_wakes_its_sync_when_a_consultant_takes_its_appeal(
    gateway_central: GatewayCentral,
) -> None:
    central = gateway_central
    key = central.register_node("kiosk-gateway-link")
    open_database_url(central.pg_url)
    bind_replica(CENTRAL, latest_stamp())
    appeal = appeal_to(central.data, "ivanova", minutes_ahead=5)
    database.close()

    woken = threading.Event()
    link = CentralLink(CentralSession(central.url, "kiosk-gateway-link", key), woken.set)
    link.start()
    try:
        assert link.connected.wait(30), "the post's link did not come up through the gateway"
        wait_until(woken.is_set, "the link's catching up on connect")
        woken.clear()
        consultant = ApiClient(central.url, "ivanova")
        taken = consultant.post(f"/api/v1/appeals/{appeal.id}/take")
        assert taken.status_code == 200, taken.text
        wait_until(woken.is_set, "«changes» reaching the post after the appeal was taken in work")
    finally:
        link.stop()


def test_a_call_between_a_consultant_and_a_post_both_on_the_gateway(gateway_central: GatewayCentral) -> None:
    central = gateway_central
    key = central.register_node("kiosk-gateway-calls")
    open_database_url(central.pg_url)
    bind_replica(CENTRAL, latest_stamp())
    appeal = in_work(central.data, "ivanova")
    staff = feldsher(central.data).id
    database.close()

    consultant = Party()
    connect_live(consultant.client, central.url, ApiClient(central.url, "ivanova").http)
    node = Party(NODE_NAMESPACE)
    node.client.connect(
        central.url,
        headers=signed_headers(key, "kiosk-gateway-calls", "GET", LINK_PATH, b""),
        namespaces=[NODE_NAMESPACE],
        transports=["websocket"],
    )
    try:
        assert consultant.call("call:join", {"appeal": appeal.id}) == {"ok": True}
        placed = consultant.call("call:place", {"appeal": appeal.id, "mode": "audio"})
        assert placed.get("ok"), placed
        call = placed["call"]
        assert node.wait_for("call:incoming")["call"] == call
        assert node.call("call:answer", {"call": call, "staff": staff}) == {"ok": True}
        assert consultant.wait_for("call:accepted")["call"] == call
        offer = {"sdp": {"type": "offer", "sdp": "v=0"}}
        assert consultant.call("call:signal", {"call": call, "data": offer}) == {"ok": True}
        assert node.wait_for("call:signal") == {"call": call, "data": offer}
        # The post's room is the node's own: a feldsher of another post is refused.
        other = feldsher(central.data, 1).id
        refused = node.call("call:hangup", {"call": call, "staff": other})
        assert refused["ok"] is False
        assert node.call("call:hangup", {"call": call, "staff": staff}) == {"ok": True}
        assert consultant.wait_for("call:ended")["outcome"] == "completed"
    finally:
        consultant.client.disconnect()
        node.client.disconnect()


def test_hundreds_of_idle_post_links_leave_the_sync_api_answering(
    gateway_central: GatewayCentral, tmp_path: Path
) -> None:
    central = gateway_central
    post = central.data.posts[0][0]
    idle_key = central.register_node("kiosk-idle")
    links = _IdleLinks(central.url, "kiosk-idle", idle_key)
    links.start()
    try:
        linked = redis.Redis.from_url(REDIS_URL)
        wait_until(
            lambda: links.failed or linked.zcard(f"faplink:linked:{post}") >= IDLE_LINKS,
            f"{IDLE_LINKS} post links held by the gateway",
            timeout=120,
        )
        assert not links.failed, links.failed[:3]

        # While they are all held, a post's sync round and a consultant's page are served.
        key = central.register_node("kiosk-busy")
        sync = _post_node(central, "kiosk-busy", key, tmp_path / "busy")
        started = time.monotonic()
        sync.run_round()
        database.close()
        consultant = ApiClient(central.url, "ivanova")
        assert consultant.get("/api/v1/appeals").status_code == 200
        # A ceiling, not a measurement: threads pinned by the links would leave these hanging.
        assert time.monotonic() - started < 60
        assert linked.zcard(f"faplink:linked:{post}") >= IDLE_LINKS  # none was dropped meanwhile
    finally:
        links.stop()


class _IdleLinks:
    """`IDLE_LINKS` Socket.IO links of one node, each with its own signed handshake, held on
    one asyncio loop in a thread of the test until `stop`."""

    def __init__(self, url: str, node_id: str, key: NodeKey) -> None:
        self.url, self.node_id, self.key = url, node_id, key
        self.failed: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._done: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        self._loop.run_until_complete(self._hold())
        self._loop.close()

    def stop(self) -> None:
        if self._done is not None:
            self._loop.call_soon_threadsafe(self._done.set)
        self._thread.join(60)

    async def _hold(self) -> None:
        self._done = asyncio.Event()
        gate = asyncio.Semaphore(25)
        clients = [socketio.AsyncClient(reconnection=False) for _ in range(IDLE_LINKS)]

        async def link(client: socketio.AsyncClient) -> None:
            async with gate:
                try:
                    await client.connect(
                        self.url,
                        headers=signed_headers(self.key, self.node_id, "GET", LINK_PATH, b""),
                        namespaces=[NODE_NAMESPACE],
                        transports=["websocket"],
                        wait_timeout=60,
                    )
                except Exception as exc:
                    self.failed.append(repr(exc))

        await asyncio.gather(*(link(c) for c in clients))
        await self._done.wait()
        await asyncio.gather(*(c.disconnect() for c in clients if c.connected), return_exceptions=True)
