"""Uploading a file to central in chunks: where to resume, as central tells it."""

from __future__ import annotations

import gzip
import hashlib
import json
import os

import pytest

from sync.models import Appeal, Attachment, Patient, Staff
from sync.server import register_node
from sync.signing import NodeKey, signed_headers
from sync.wire import encode

NODE = "kiosk-blob-upload"
CHUNK = 64 * 1024


@pytest.fixture
def signed(central_app):  # type: ignore[no-untyped-def]
    app, data = central_app
    key = NodeKey.generate()
    register_node(NODE, data.posts[0][0], key.public_hex)
    return app, app.test_client(), key, data


def _json(response):  # type: ignore[no-untyped-def]
    raw = response.data
    if response.headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    return json.loads(raw)


def attached_file(data, post_index: int, size: int = 3 * CHUNK + 1000) -> tuple[bytes, str]:  # type: ignore[no-untyped-def]
    """A file on an appeal of post `post_index`, known to central (its bytes are not)."""
    post = data.posts[post_index][0]
    consultant = Staff.get_by_id(data.consultants["ivanova"])
    feldsher = Staff.get(Staff.organization == post)
    appeal = Appeal.book(
        patient=Patient.select().where(Patient.organization == post).first(),
        author=feldsher,
        specialty=consultant.specialty,
        consultant=consultant,
        slot=None,
        form_of_care="urgent",
        question="ЭКГ во вложении",
    )
    blob = b"%PDF-1.4\n" + os.urandom(size - 9)
    sha = hashlib.sha256(blob).hexdigest()
    Attachment.create(
        appeal=appeal,
        filename="ecg.pdf",
        content_type="application/pdf",
        size=len(blob),
        sha256=sha,
        uploaded_by=feldsher,
    )
    return blob, sha


def put(client, key, sha: str, offset: int, chunk: bytes):  # type: ignore[no-untyped-def]
    path = f"/sync/v1/blobs/{sha}/upload?offset={offset}"
    headers = signed_headers(key, NODE, "PUT", path, chunk) | {"Content-Type": "application/octet-stream"}
    return client.put(path, data=chunk, headers=headers)


def missing(client, key, shas: list[str]):  # type: ignore[no-untyped-def]
    body = encode({"sha256": shas})
    headers = signed_headers(key, NODE, "POST", "/sync/v1/blobs/missing", body) | {
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
    }
    return _json(client.post("/sync/v1/blobs/missing", data=body, headers=headers))


def test_missing_blobs_say_where_to_resume_for_the_posts_own_files(signed) -> None:  # type: ignore[no-untyped-def]
    app, client, key, data = signed
    mine, mine_sha = attached_file(data, 0)
    theirs, theirs_sha = attached_file(data, 1)
    untouched, untouched_sha = attached_file(data, 0)
    assert put(client, key, mine_sha, 0, mine[:CHUNK]).status_code == 200
    # Another post's partial upload (through its own kiosk): not this node's business.
    app.extensions["blobs"].append(theirs_sha, 0, theirs[:CHUNK], len(theirs))

    answer = missing(client, key, [mine_sha, theirs_sha, untouched_sha])
    assert sorted(answer["missing"]) == sorted([mine_sha, theirs_sha, untouched_sha])
    assert answer["offsets"] == {mine_sha: CHUNK}

    for offset in range(CHUNK, len(mine), CHUNK):
        assert put(client, key, mine_sha, offset, mine[offset : offset + CHUNK]).status_code == 200
    answer = missing(client, key, [mine_sha, untouched_sha])
    assert answer["missing"] == [untouched_sha] and answer["offsets"] == {}
