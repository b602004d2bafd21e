"""A call between a consultant on one central instance and a post linked to the other.

The calls under way live in Redis (the instances' shared message queue), so the
instance that did not place the call still knows it: it rings, is answered,
relays the signals and ends on whichever instance each party reaches.
"""

from __future__ import annotations

import redis
import requests

from domain.models import CallLog
from node.live.link import LINK_PATH, NODE_NAMESPACE
from sync.changes import latest_stamp
from sync.db import CENTRAL, bind_replica, database, open_database_url
from sync.request_signing import signed_headers
from tests.helpers.chat import feldsher, in_work
from tests.helpers.cluster import connect_live
from tests.helpers.scaled import REDIS_URL, Party, TwoCentrals


def test_a_call_rings_is_answered_relayed_and_logged_across_two_instances(two_centrals: TwoCentrals) -> None:
    a, b = two_centrals.urls
    data = two_centrals.data
    key = two_centrals.register_node("kiosk-scaled-calls")
    open_database_url(two_centrals.pg_url)
    bind_replica(CENTRAL, latest_stamp())
    appeal = in_work(data, "ivanova")
    staff = feldsher(data).id
    database.close()

    # The consultant's page is served by instance A …
    http = requests.Session()
    login = http.post(f"{a}/api/v1/session", json={"login": "ivanova", "password": "demo1234"}, timeout=10)
    assert login.status_code == 200
    consultant = Party()
    connect_live(consultant.client, a, http)
    # … and the post's node is linked to instance B.
    node = Party(NODE_NAMESPACE)
    node.client.connect(
        b,
        headers=signed_headers(key, "kiosk-scaled-calls", "GET", LINK_PATH, b""),
        namespaces=[NODE_NAMESPACE],
        transports=["websocket"],
    )
    try:
        assert consultant.call("call:join", {"appeal": appeal.id}) == {"ok": True}
        placed = consultant.call("call:place", {"appeal": appeal.id, "mode": "video"})
        assert placed.get("ok"), placed
        call = placed["call"]
        incoming = node.wait_for("call:incoming")
        assert (incoming["call"], incoming["appeal"], incoming["mode"]) == (call, appeal.id, "video")
        # Instance B knows the call A placed: a second call about the appeal is refused there too.
        busy = node.call("call:place", {"appeal": appeal.id, "mode": "audio", "staff": staff})
        assert busy["ok"] is False and busy["message"] == "По этому обращению уже идёт звонок"

        assert node.call("call:answer", {"call": call, "staff": staff}) == {"ok": True}
        assert consultant.wait_for("call:accepted")["call"] == call
        offer = {"sdp": {"type": "offer", "sdp": "v=0 from instance A"}}
        assert consultant.call("call:signal", {"call": call, "data": offer}) == {"ok": True}
        assert node.wait_for("call:signal") == {"call": call, "data": offer}
        answer = {"sdp": {"type": "answer", "sdp": "v=0 from instance B"}}
        assert node.call("call:signal", {"call": call, "staff": staff, "data": answer}) == {"ok": True}
        assert consultant.wait_for("call:signal") == {"call": call, "data": answer}

        assert consultant.call("call:hangup", {"call": call}) == {"ok": True}
        ended = node.wait_for("call:ended")
        assert (ended["call"], ended["outcome"]) == (call, "completed")
    finally:
        consultant.client.disconnect()
        node.client.disconnect()

    assert not redis.Redis.from_url(REDIS_URL).exists(f"faplink:calls:call:{call}")
    open_database_url(two_centrals.pg_url)
    log = CallLog.get_by_id(call)
    assert (log.appeal_id, log.mode, log.outcome) == (appeal.id, "video", "completed")
    database.close()
