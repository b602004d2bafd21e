"""The post's live link to central comes back with the first sync round that gets through, not
after its backoff: a call from central must reach the kiosk as soon as the post is online."""

from __future__ import annotations

import logging

import pytest

from faplink.demo_link import LinkSwitch
from node.live.link import CentralLink
from sync import server
from sync.request_signing import NodeKey
from sync.session import CentralSession
from tests.helpers.cluster import eventually
from tests.helpers.web import served_in_thread


def test_the_live_link_is_tried_again_as_soon_as_central_is_reached(
    central_app,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    app, data = central_app
    key = NodeKey.generate()
    server.register_node("kiosk-medno", data.posts[0][0], key.public_hex)
    caplog.set_level(logging.DEBUG, logger="node.live.link")
    with served_in_thread(app) as port:
        cable = LinkSwitch(0, port)
        cable.cut()
        # A backoff as long as the one a post reaches after a few minutes offline.
        central = CentralSession(f"http://127.0.0.1:{cable.port}", "kiosk-medno", key)
        link = CentralLink(central, lambda: None, retry_base=60)
        link.start()
        try:
            eventually(lambda: "central link not up" in caplog.text, timeout=15, what="a refused attempt")
            cable.mend()
            link.retry_now()  # what a sync round that reached central does (node/live/hooks.py)
            assert link.connected.wait(10), "the live link waited out its backoff"
        finally:
            link.stop()
            cable.close()
