"""Two posts' kiosks at one central: the attacker holds post 1's key, post 2 is the victim."""

from __future__ import annotations

import pytest

from sync.request_signing import NodeKey
from sync.server import register_node
from tests.contract.helpers import Kiosk


@pytest.fixture
def kiosks(central_app):  # type: ignore[no-untyped-def]
    app, data = central_app
    client = app.test_client()
    out = []
    for n, (post_id, _name) in enumerate(data.posts[:2]):
        key = NodeKey.generate()
        node_id = f"kiosk-contract-{n + 1}"
        register_node(node_id, post_id, key.public_hex)
        out.append(Kiosk(client, key, node_id, post_id))
    return app, data, out[0], out[1]
