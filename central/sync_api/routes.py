from __future__ import annotations

import gzip
import json
import time
from typing import Any

from flask import Response, current_app, g, request

from domain.errors import ValidationError
from i18n import N_
from sync import server
from sync.blobs import CHUNK_SIZE, BlobStore
from sync.wire import decode_object, pack_chunk, unpack_chunk

from . import bp
from .nodes import request_node


def _payload() -> dict[str, Any]:
    gzipped = request.headers.get("Content-Encoding") == "gzip"
    return decode_object(request.get_data(cache=True), gzipped=gzipped)


def _json(data: Any, status: int = 200) -> Response:
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    response = Response(raw, status=status, mimetype="application/json")
    if "gzip" in request.headers.get("Accept-Encoding", "") and len(raw) > 512:
        response.set_data(gzip.compress(raw, compresslevel=6, mtime=0))
        response.headers["Content-Encoding"] = "gzip"
    return response


@bp.before_request
def _note_arrival() -> None:
    g.received_ms = int(time.time() * 1000)


def _clocked(answer: dict[str, Any]) -> dict[str, Any]:
    """`answer` with central's clock as NTP reads it: when the request came and when it is
    answered, so that a node's offset does not count the time central spent on it."""
    return answer | {"server_received_ms": g.received_ms, "server_time_ms": int(time.time() * 1000)}


def _blobs() -> BlobStore:
    return current_app.extensions["blobs"]


@bp.get("/ping")
def ping() -> Any:
    """Unsigned and cheap: lets an offline node notice the link is back."""
    return _json(_clocked({"ok": True}))


@bp.post("/enroll")
def enroll() -> Any:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ValidationError(N_("Ожидался JSON-объект в теле запроса"))
    return _json(_clocked(server.enroll(payload)), 201)


@bp.post("/hello")
def hello() -> Any:
    node = request_node()
    return _json(_clocked(server.hello(node, _payload())))


@bp.post("/push")
def push() -> Any:
    node = request_node()
    # What the push changed is announced to the consultants and posts concerned by
    # central.chat's change feed, which runs after every write request.
    return _json(server.accept_push(node, _payload()))


@bp.get("/pull")
def pull() -> Any:
    node = request_node()
    args = request.args
    # A node that skipped this round's hello says its versions here: an outdated one gets nothing.
    versions = {"protocol": args.get("protocol"), "schema": args.get("schema")}
    cursor, limit = args.get("cursor", "0"), args.get("limit", "500")
    known = current_app.extensions["post_changes"]
    return _json(_clocked(server.pull(node, cursor, limit, **versions, known=known)))


@bp.post("/blobs/missing")
def blobs_missing() -> Any:
    """Which blobs central lacks from this post, and how much of each it sent (where to resume)."""
    node = request_node()
    payload = _payload()
    missing = server.missing_blobs(node, _blobs(), payload.get("sha256"))
    return _json({"missing": missing, "offsets": server.upload_offsets(node, _blobs(), missing)})


def _int_arg(name: str, default: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None and default is not None:
        return default
    try:
        value = int(raw or "")
    except ValueError as exc:
        raise ValidationError(N_("Параметр %(name)s должен быть числом"), name=name) from exc
    if not 0 <= value < 2**63:
        raise ValidationError(N_("Параметр %(name)s вне допустимых пределов"), name=name)
    return value


@bp.get("/blobs/<sha>/upload")
def blob_upload_state(sha: str) -> Any:
    """How much of a blob this post has sent: the node resumes its upload from there."""
    node = request_node()
    server.may_send_blob(node, sha)
    held = server.holds_blob(node, sha)
    offset = _blobs().staged(sha, node.organization_id, sender_holds=held)
    return _json({"offset": offset, "complete": held})


@bp.put("/blobs/<sha>/upload")
def blob_upload(sha: str) -> Any:
    node = request_node()
    total = server.blob_size(node, sha)  # only blobs of attachments in the post's scope
    store = _blobs()
    data = request.get_data(cache=True)
    if request.headers.get("Content-Encoding") == "gzip":
        data = unpack_chunk(data, server.MAX_CHUNK)
    held = server.holds_blob(node, sha)
    offset = store.append(sha, _int_arg("offset"), data, total, node.organization_id, sender_holds=held)
    complete = held or (offset == total and store.has(sha))
    if complete and not held:
        server.blob_received(node, sha)
        # The hub's feed, by its name in the app (central.live imports this blueprint's node auth).
        feed = current_app.extensions.get("live_feed")
        if feed is not None:
            feed.file_arrived(sha)
    return _json({"offset": offset, "complete": complete})


@bp.get("/blobs/<sha>")
def blob_get(sha: str) -> Any:
    node = request_node()
    server.may_fetch_blob(node, sha)
    store = _blobs()
    if not store.has(sha):
        return _json({"error": "not_found", "message": "blob not here yet"}, 404)
    offset = _int_arg("offset", 0)
    length = min(_int_arg("length", CHUNK_SIZE), server.MAX_CHUNK)
    data = store.read_range(sha, offset, length)
    packed = pack_chunk(data) if "gzip" in request.headers.get("Accept-Encoding", "") else None
    response = Response(packed or data, mimetype="application/octet-stream")
    if packed is not None:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["X-Blob-Size"] = str(store.size(sha))
    return response
