"""Two posts' kiosks at one central: the attacker holds post 1's key, post 2 is the victim;
and the demo's data grown with every kind of row a consultation makes, in a second region too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from domain.models import Patient, Staff
from sync.request_signing import NodeKey
from sync.server import register_node
from tests.contract.helpers import Kiosk
from tests.helpers.consultations import a_consultation_at, another_region


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


@pytest.fixture
def grown(seeded) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """The seeded data, with a consultation at each post and a second region."""
    for n, (post_id, _name) in enumerate(seeded.posts, start=1):
        patient = Patient.get_by_id(seeded.patients[f"Кузьмин Пётр Васильевич@{n}"])
        consultant = Staff.get_by_id(seeded.consultants[("ivanova", "smirnov")[n - 1]])
        a_consultation_at(post_id, patient, consultant)
    another_region()
    yield seeded
