"""Every way central refuses a sync request, each with its own code and message."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from domain.migrations import SCHEMA_VERSION
from sync.clock import utcnow
from sync.request_signing import HEADERS, NodeKey, signed_headers
from sync.server import enrolment_proof_message, issue_token, register_node
from sync.state import EnrolmentToken, KnownNode
from sync.wire import encode

NODE = "kiosk-test-1"


@pytest.fixture
def signed(central_app):  # type: ignore[no-untyped-def]
    """central's test client and a registered node's key for post 1."""
    app, data = central_app
    key = NodeKey.generate()
    register_node(NODE, data.posts[0][0], key.public_hex)
    return app.test_client(), key, data


def _post(client, key, path: str, payload, **kw):  # type: ignore[no-untyped-def]
    body = encode(payload)
    headers = signed_headers(key, NODE, "POST", path, body, **kw) | {
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
    }
    return client.post(path, data=body, headers=headers), headers, body


HELLO = {"protocol": 1, "schema": SCHEMA_VERSION, "software": "test"}


def test_a_signed_hello_is_accepted(signed) -> None:  # type: ignore[no-untyped-def]
    client, key, data = signed
    response, _, _ = _post(client, key, "/sync/v1/hello", HELLO)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["organization"] == data.posts[0][0]


def test_unsigned(signed) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = signed
    response = client.post("/sync/v1/hello", data=encode(HELLO), headers={"Content-Encoding": "gzip"})
    assert (response.status_code, response.get_json()["error"]) == (401, "unsigned")


def test_unknown_node(signed) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = signed
    stranger = NodeKey.generate()
    body = encode(HELLO)
    headers = signed_headers(stranger, "kiosk-nobody", "POST", "/sync/v1/hello", body)
    response = client.post("/sync/v1/hello", data=body, headers=headers | {"Content-Encoding": "gzip"})
    assert (response.status_code, response.get_json()["error"]) == (401, "unknown_node")


def test_tampered_body(signed) -> None:  # type: ignore[no-untyped-def]
    client, key, _ = signed
    _, headers, _ = _post(client, key, "/sync/v1/hello", HELLO)
    forged = encode(HELLO | {"software": "evil"})
    response = client.post("/sync/v1/hello", data=forged, headers=headers | {HEADERS.NONCE: "f" * 32})
    assert (response.status_code, response.get_json()["error"]) == (401, "bad_signature")


def test_wrong_key(signed) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = signed
    response, _, _ = _post(client, NodeKey.generate(), "/sync/v1/hello", HELLO)
    assert response.get_json()["error"] == "bad_signature"


def test_stale_request(signed) -> None:  # type: ignore[no-untyped-def]
    client, key, _ = signed
    response, _, _ = _post(client, key, "/sync/v1/hello", HELLO, clock_offset_ms=-10 * 60 * 1000)
    assert (response.status_code, response.get_json()["error"]) == (401, "stale")
    assert "часы" in response.get_json()["message"]


def test_replayed_request(signed) -> None:  # type: ignore[no-untyped-def]
    client, key, _ = signed
    first, headers, body = _post(client, key, "/sync/v1/hello", HELLO)
    assert first.status_code == 200
    again = client.post("/sync/v1/hello", data=body, headers=headers)
    assert (again.status_code, again.get_json()["error"]) == (401, "replayed")


def test_revoked_node(signed) -> None:  # type: ignore[no-untyped-def]
    client, key, _ = signed
    KnownNode.update(revoked=True).where(KnownNode.node_id == NODE).execute()
    response, _, _ = _post(client, key, "/sync/v1/hello", HELLO)
    assert (response.status_code, response.get_json()["error"]) == (401, "revoked")
    assert "поддержку" in response.get_json()["message"]


def test_a_node_revoked_after_it_synced_is_refused_at_its_next_request(signed) -> None:  # type: ignore[no-untyped-def]
    client, key, _ = signed
    path = "/sync/v1/pull?cursor=0&limit=1"
    assert client.get(path, headers=signed_headers(key, NODE, "GET", path, b"")).status_code == 200
    KnownNode.update(revoked=True).where(KnownNode.node_id == NODE).execute()
    response = client.get(path, headers=signed_headers(key, NODE, "GET", path, b""))
    assert (response.status_code, response.get_json()["error"]) == (401, "revoked")


def test_old_schema_must_update(signed) -> None:  # type: ignore[no-untyped-def]
    client, key, _ = signed
    response, _, _ = _post(client, key, "/sync/v1/hello", HELLO | {"schema": 1})
    assert (response.status_code, response.get_json()["error"]) == (426, "update_required")


@pytest.mark.parametrize(
    ("versions", "status", "error"),
    [
        ("protocol=1&schema=1", 426, "update_required"),
        (f"protocol=2&schema={SCHEMA_VERSION}", 426, "update_required"),
        ("protocol=1&schema=x", 400, "invalid"),
        (f"protocol=-1&schema={SCHEMA_VERSION}", 400, "invalid"),
    ],
)
def test_a_pull_that_says_old_versions_must_update_too(signed, versions, status, error) -> None:  # type: ignore[no-untyped-def]
    client, key, _ = signed
    path = f"/sync/v1/pull?cursor=0&limit=10&{versions}"
    response = client.get(path, headers=signed_headers(key, NODE, "GET", path, b""))
    assert (response.status_code, response.get_json()["error"]) == (status, error)
    assert "records" not in response.get_json()
    path = f"/sync/v1/pull?cursor=0&limit=10&protocol=1&schema={SCHEMA_VERSION}"
    assert client.get(path, headers=signed_headers(key, NODE, "GET", path, b"")).status_code == 200


def test_pull_of_another_posts_file_is_refused(signed) -> None:  # type: ignore[no-untyped-def]
    client, key, _ = signed
    path = "/sync/v1/blobs/" + "a" * 64
    headers = signed_headers(key, NODE, "GET", path, b"")
    response = client.get(path, headers=headers)
    assert (response.status_code, response.get_json()["error"]) == (403, "out_of_scope")


def test_pull_returns_only_the_posts_scope(signed) -> None:  # type: ignore[no-untyped-def]
    import gzip
    import json

    client, key, data = signed
    path = "/sync/v1/pull?cursor=0&limit=2000"
    response = client.get(
        path, headers=signed_headers(key, NODE, "GET", path, b"") | {"Accept-Encoding": "gzip"}
    )
    page = json.loads(gzip.decompress(response.data))
    patients = {r["fields"]["organization"] for r in page["records"] if r["model"] == "patient"}
    assert patients == {data.posts[0][0]}
    credentials = [r for r in page["records"] if r["model"] == "staff_credential"]
    assert len(credentials) == 1  # only this post's feldsher, not the consultants'


def _enroll(client, token: str, node_id: str, key: NodeKey | None = None, proof_token: str | None = None):  # type: ignore[no-untyped-def]
    key = key or NodeKey.generate()
    proof = base64.b64encode(key.sign(enrolment_proof_message(proof_token or token, node_id))).decode()
    return client.post(
        "/sync/v1/enroll",
        json={
            "token": token,
            "node_id": node_id,
            "public_key": key.public_hex,
            "proof": proof,
        },
    )


def test_enrolment_token_is_one_time(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client = app.test_client()
    token = issue_token(data.posts[0][0])
    first = _enroll(client, token, "kiosk-a1")
    assert first.status_code == 201 and first.get_json()["organization"] == data.posts[0][0]
    second = _enroll(client, token, "kiosk-a2")
    assert second.get_json()["error"] == "enrolment_refused"
    assert "уже использован" in second.get_json()["message"]


def test_expired_and_revoked_tokens_are_refused(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client = app.test_client()
    expired = issue_token(data.posts[0][0])
    EnrolmentToken.update(expires_at=utcnow() - timedelta(minutes=1)).execute()
    assert "истёк" in _enroll(client, expired, "kiosk-b1").get_json()["message"]
    revoked = issue_token(data.posts[0][0])
    EnrolmentToken.update(revoked=True).where(EnrolmentToken.expires_at > utcnow()).execute()
    assert "отозван" in _enroll(client, revoked, "kiosk-b2").get_json()["message"]
    assert "не найден" in _enroll(client, "made-up-token", "kiosk-b3").get_json()["message"]


def test_enrolment_needs_proof_of_the_key(central_app) -> None:  # type: ignore[no-untyped-def]
    app, data = central_app
    client = app.test_client()
    token = issue_token(data.posts[0][0])
    response = _enroll(client, token, "kiosk-c1", proof_token="another-token")
    assert response.get_json()["error"] == "bad_signature"
    assert EnrolmentToken.get().used_at is None  # the token is still good
