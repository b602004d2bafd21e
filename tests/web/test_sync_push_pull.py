"""A push may ask for the first pull page in the same request: one round trip fewer on a slow link."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest

from domain.models import Patient
from sync.request_signing import NodeKey, signed_headers
from sync.server import register_node
from sync.wire import encode
from tests.helpers.data import rows
from tests.helpers.pushes import numbered_patient_record

NODE = "kiosk-push-pull"


@pytest.fixture
def signed(central_app):  # type: ignore[no-untyped-def]
    app, data = central_app
    key = NodeKey.generate()
    register_node(NODE, data.posts[0][0], key.public_hex)
    return app.test_client(), key, data


def _json(response):  # type: ignore[no-untyped-def]
    raw = response.data
    if response.headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    return json.loads(raw)


def _push(client, key, payload):  # type: ignore[no-untyped-def]
    body = encode(payload)
    headers = signed_headers(key, NODE, "POST", "/sync/v1/push", body) | {
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
    }
    return client.post("/sync/v1/push", data=body, headers=headers)


def _mine(post: str):  # type: ignore[no-untyped-def]
    record = numbered_patient_record(post, 7)
    return record | {"origin": NODE, "changed_by": NODE, "id": str(uuid.uuid4())}


def test_the_pull_page_in_a_push_answer_is_the_one_a_pull_gives(signed) -> None:  # type: ignore[no-untyped-def]
    client, key, data = signed
    post = data.posts[0][0]
    record = _mine(post)
    answer = _push(client, key, {"records": [record], "pull": {"cursor": 0, "limit": 300}})
    assert answer.status_code == 200, answer.data
    body = _json(answer)
    assert body["applied"] == 1 and Patient.get_by_id(record["id"]).origin == NODE
    path = "/sync/v1/pull?cursor=0&limit=300"
    pulled = _json(client.get(path, headers=signed_headers(key, NODE, "GET", path, b"")))
    clock = pulled.pop("server_time_ms")  # a pull's answer carries central's clock besides
    assert pulled.pop("server_received_ms") <= clock  # (and when the pull reached it)
    assert body["pull"]["records"] and body["pull"] == pulled and isinstance(clock, int)
    assert record["id"] not in {r["id"] for r in body["pull"]["records"]}  # its own change stays home
    # How many slots fill the first page depends on the seed's weekdays: read the whole pull.
    everything = list(pulled["records"])
    while pulled["more"]:
        path = f"/sync/v1/pull?cursor={pulled['cursor']}&limit=300"
        pulled = _json(client.get(path, headers=signed_headers(key, NODE, "GET", path, b"")))
        everything += pulled["records"]
    assert record["id"] not in {r["id"] for r in everything}
    assert {r["fields"]["organization"] for r in everything if r["model"] == "patient"} == {post}


def test_a_push_without_the_field_answers_as_before(signed) -> None:  # type: ignore[no-untyped-def]
    client, key, data = signed
    answer = _push(client, key, {"records": [_mine(data.posts[0][0])]})
    assert answer.status_code == 200 and "pull" not in _json(answer)


@pytest.mark.parametrize(
    "pull", [{"cursor": "0", "limit": 10}, {"cursor": 0}, [0, 10], {"cursor": True, "limit": 5}]
)
def test_a_bad_pull_request_refuses_the_push_before_applying_it(signed, pull) -> None:  # type: ignore[no-untyped-def]
    client, key, data = signed
    before = rows(Patient)
    answer = _push(client, key, {"records": [_mine(data.posts[0][0])], "pull": pull})
    assert answer.status_code == 400 and _json(answer)["error"] == "invalid"
    assert rows(Patient) == before
