"""A measurement that meets a stalled connection set-up still sees the link's real rate.

Central is served over real HTTP in this process; the kiosk measures through a relay
that holds the upload probe's connection for a second before connecting it on to
central, as a SYN lost between a proxy and central would (on the shaped link of
test_shaped_link.py this happens now and then at 0.5 % loss).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from node.identity import NodeIdentity
from node.link_monitor.measure import measure_link, offered_mode
from sync.request_signing import NodeKey
from sync.server import register_node
from tests.helpers.relay import Relay
from tests.helpers.web import served_in_thread


@pytest.fixture
def central(central_app) -> Iterator[tuple[int, str]]:  # type: ignore[no-untyped-def]
    """(central's port, post 1's id): central's app served over HTTP on a free port."""
    app, data = central_app
    with served_in_thread(app) as port:
        yield port, data.posts[0][0]


def _kiosk(tmp_path: Path, post_id: str, central_url: str) -> NodeIdentity:
    identity = NodeIdentity(f"kiosk-{uuid.uuid4().hex[:10]}", post_id, central_url, tmp_path / "post")
    identity.data_dir.mkdir()
    key = NodeKey.generate()
    key.save(identity.key_path)
    register_node(identity.node_id, post_id, key.public_hex)
    return identity


def test_a_stalled_upload_is_sent_again_and_the_link_still_carries_video(
    tmp_path: Path, central: tuple[int, str]
) -> None:
    port, post_id = central
    relay = Relay(target_port=port, stall_request=b"POST /sync/link/v1/up", stall_s=1.0)
    try:
        identity = _kiosk(tmp_path, post_id, f"http://127.0.0.1:{relay.port}")
        quality = measure_link(identity.session(), budget_s=6.0)
    finally:
        relay.close()
    assert relay.stall_request is None, "the upload was never stalled: the test proves nothing"
    assert quality.error is None, quality
    # Loopback carries far more than video needs; one stalled second must not hide that.
    assert quality.up_kbps is not None and quality.up_kbps >= 1200, quality
    assert quality.down_kbps is not None and quality.down_kbps >= 1200, quality
    assert offered_mode(quality) == "video", quality
