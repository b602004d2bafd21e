"""Uploading a file to central in chunks: where to resume, as central tells it."""

from __future__ import annotations

import gzip
import hashlib
import json
import os

import pytest

from central.extensions import socketio
from domain.booking import book_appeal
from domain.models import Attachment, Patient, Staff
from sync.request_signing import NodeKey, signed_headers
from sync.server import register_node
from sync.wire import encode
from tests.helpers.web import login

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
    appeal = book_appeal(
        consent_by="patient",  # the ИДС to the consultation
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


def put(client, key, sha: str, offset: int, chunk: bytes, *, gzipped: bool = False):  # type: ignore[no-untyped-def]
    """Upload one chunk as a node does (`gzipped`: the body is the chunk packed)."""
    path = f"/sync/v1/blobs/{sha}/upload?offset={offset}"
    headers = signed_headers(key, NODE, "PUT", path, chunk) | {"Content-Type": "application/octet-stream"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
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
    app.extensions["blobs"].append(
        theirs_sha, 0, theirs[:CHUNK], len(theirs), data.posts[1][0], sender_holds=False
    )

    answer = missing(client, key, [mine_sha, theirs_sha, untouched_sha])
    assert sorted(answer["missing"]) == sorted([mine_sha, theirs_sha, untouched_sha])
    assert answer["offsets"] == {mine_sha: CHUNK}

    for offset in range(CHUNK, len(mine), CHUNK):
        assert put(client, key, mine_sha, offset, mine[offset : offset + CHUNK]).status_code == 200
    answer = missing(client, key, [mine_sha, untouched_sha])
    assert answer["missing"] == [untouched_sha] and answer["offsets"] == {}


def test_gzipped_chunks_are_unpacked_and_bad_ones_refused_keeping_what_is_held(signed) -> None:  # type: ignore[no-untyped-def]
    from sync.server import MAX_CHUNK

    app, client, key, data = signed
    blob, sha = attached_file(data, 0)
    store = app.extensions["blobs"]
    assert put(client, key, sha, 0, blob[:CHUNK]).status_code == 200

    corrupt = put(client, key, sha, CHUNK, b"\x1f\x8b\x08\x00garbage", gzipped=True)
    assert corrupt.status_code == 400
    assert "Фрагмент файла повреждён" in _json(corrupt)["message"]
    # A small body that unpacks to more than any chunk may be: refused before it is stored.
    bomb = put(client, key, sha, CHUNK, gzip.compress(b"\0" * (MAX_CHUNK + 1)), gzipped=True)
    assert bomb.status_code == 400
    assert "Фрагмент файла слишком велик" in _json(bomb)["message"]
    # What was held is still held, nothing half-written (each post stages its own copy).
    assert store.staged(sha, data.posts[0][0], sender_holds=False) == CHUNK

    for offset in range(CHUNK, len(blob), CHUNK):
        answer = put(client, key, sha, offset, gzip.compress(blob[offset : offset + CHUNK]), gzipped=True)
        assert answer.status_code == 200
    assert store.has(sha) and store.read_range(sha, 0, len(blob)) == blob


def test_a_text_chunk_is_sent_gzipped_and_an_incompressible_one_raw(signed) -> None:  # type: ignore[no-untyped-def]
    from sync.wire import pack_chunk

    app, client, key, data = signed
    text = (
        "t_ms;I;II;III\n" + "".join(f"{t};{t % 97};{t % 89 - 40};{t % 83}\n" for t in range(0, 40000, 2))
    ).encode()
    packed = pack_chunk(text)
    assert packed is not None and len(packed) < len(text) // 2
    assert gzip.decompress(packed) == text
    assert pack_chunk(os.urandom(CHUNK)) is None
    assert pack_chunk(b"short text " * 10) is None  # too short to be worth it

    blob, sha = attached_file(data, 0)
    path = f"/sync/v1/blobs/{sha}?offset=0&length={CHUNK}"
    app.extensions["blobs"].append(sha, 0, blob, len(blob))
    response = client.get(
        path, headers=signed_headers(key, NODE, "GET", path, b"") | {"Accept-Encoding": "gzip"}
    )
    assert response.status_code == 200 and "Content-Encoding" not in response.headers
    assert response.data == blob[:CHUNK]


def test_the_consultants_chat_hears_when_a_file_has_come_whole(signed) -> None:  # type: ignore[no-untyped-def]
    """The message may be shown before its file («файл ещё загружается»): the file's last chunk
    tells the appeal's room, so the open chat shows the link without a reload."""
    app, client, key, data = signed
    blob, sha = attached_file(data, 0)
    appeal_id = Attachment.get(Attachment.sha256 == sha).appeal_id
    browser = app.test_client()
    login(browser, "ivanova")
    page = socketio.test_client(app, flask_test_client=browser)
    assert page.emit("join", {"appeal": appeal_id}, callback=True)["ok"] is True
    page.get_received()

    def heard() -> list[object]:
        return [e["args"][0] for e in page.get_received() if e["name"] == "chat"]

    assert put(client, key, sha, 0, blob[:CHUNK]).status_code == 200
    assert heard() == []  # a part is no news
    for offset in range(CHUNK, len(blob), CHUNK):
        assert put(client, key, sha, offset, blob[offset : offset + CHUNK]).status_code == 200
    assert heard() == [{"appeal": appeal_id}]
    assert put(client, key, sha, len(blob), b"").status_code in (200, 400)  # held: said once
    assert heard() == []
