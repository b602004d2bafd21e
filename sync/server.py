"""Central's side of the sync: authenticate nodes, accept pushes, serve pulls and blobs.

Framework-free: central's sync blueprint hands these functions the request's
method, path, headers and body and turns their results (or SyncErrors) into
responses.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from i18n import N_

from . import PROTOCOL_VERSION
from .apply import apply_records
from .blobs import CHUNK_SIZE, BlobStore
from .changes import collect_changes, latest_seq
from .clock import utcnow
from .db import CENTRAL, database, read_snapshot
from .errors import (
    BadSignatureError,
    EnrolmentError,
    MalformedError,
    ReplayError,
    RevokedError,
    ScopeError,
    StaleRequestError,
    UnknownNodeError,
    UnsignedError,
    VersionError,
)
from .migrations import schema_version
from .nonces import DatabaseNonces, NonceStore
from .post_changes import PostChanges
from .registry import replication
from .request_signing import HEADERS, check_signature
from .state import BlobHolder, EnrolmentToken, KnownNode

__all__ = [
    "issue_token",
    "enroll",
    "enrolment_proof_message",
    "register_node",
    "authenticate",
    "hello",
    "accept_push",
    "changes_since",
    "missing_blobs",
    "upload_offsets",
    "may_send_blob",
    "may_fetch_blob",
    "holds_blob",
    "blob_received",
    "blob_size",
    "pull",
    "pull_bounds",
    "require_versions",
    "REPLAY_WINDOW",
    "MAX_PULL",
]

#: A signed request older or newer than this (after clock correction) is refused.
REPLAY_WINDOW = timedelta(minutes=5)
MAX_PULL = 2000
#: The largest blob chunk central sends or accepts (unpacked).
MAX_CHUNK = 4 * CHUNK_SIZE
#: What this central understands beyond the protocol version; a node uses a feature
#: only when the hello names it, so an older central is never sent what it cannot read.
#: "blob-gzip": blob chunks may be uploaded gzipped (Content-Encoding: gzip).
FEATURES = ("blob-gzip",)
_NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")
#: Protocol and schema versions are small counters; anything larger is not a version.
_MAX_VERSION = 1_000_000


def register_node(node_id: str, organization_id: str, public_hex: str) -> KnownNode:
    """Record an enrolled node's key (re-registering replaces the key and un-revokes)."""
    bytes.fromhex(public_hex)
    with database.atomic():
        KnownNode.insert(
            node_id=node_id, organization_id=organization_id, public_key=public_hex, revoked=False
        ).on_conflict(
            conflict_target=[KnownNode.node_id],
            update={
                KnownNode.organization_id: organization_id,
                KnownNode.public_key: public_hex,
                KnownNode.revoked: False,
            },
        ).execute()
    return KnownNode.get_by_id(node_id)


def issue_token(organization_id: str, *, hours: float = 72, created_by: str = "", note: str = "") -> str:
    """A new one-time enrolment token for a post; only its hash is stored."""
    token = secrets.token_urlsafe(18)
    EnrolmentToken.create(
        token_hash=_token_hash(token),
        organization_id=organization_id,
        expires_at=utcnow() + timedelta(hours=hours),
        created_by=created_by,
        note=note,
    )
    return token


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


def enrolment_proof_message(token: str, node_id: str) -> bytes:
    return f"faplink-enroll\n{token.strip()}\n{node_id}".encode()


def enroll(payload: dict[str, Any]) -> dict[str, Any]:
    """Register a node with a one-time token; the node proves it holds the key it sends."""
    token, node_id, public_hex = (str(payload.get(k, "")) for k in ("token", "node_id", "public_key"))
    proof = str(payload.get("proof", ""))
    if not token or not _NODE_ID.match(node_id):
        raise MalformedError(N_("Запрос на регистрацию поста неполон"))
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))
        public.verify(base64.b64decode(proof, validate=True), enrolment_proof_message(token, node_id))
    except (ValueError, InvalidSignature) as exc:
        raise BadSignatureError(N_("Ключ поста не подтверждён подписью")) from exc
    with database.atomic():
        row = EnrolmentToken.get_or_none(EnrolmentToken.token_hash == _token_hash(token))
        if row is None:
            raise EnrolmentError(N_("Код регистрации не найден: проверьте, что он введён без ошибок"))
        if row.revoked:
            raise EnrolmentError(N_("Код регистрации отозван администратором"))
        if row.used_at is not None:
            raise EnrolmentError(N_("Код регистрации уже использован: попросите у администратора новый"))
        if row.expires_at <= utcnow():
            raise EnrolmentError(N_("Срок действия кода регистрации истёк: попросите новый"))
        if KnownNode.get_or_none(KnownNode.node_id == node_id) is not None:
            raise EnrolmentError(N_("Пост с таким идентификатором уже зарегистрирован"))
        row.used_at, row.node_id = utcnow(), node_id
        row.save()
        register_node(node_id, row.organization_id, public_hex)
    return {
        "node_id": node_id,
        "organization": row.organization_id,
        "protocol": PROTOCOL_VERSION,
        "schema": schema_version(),
    }


#: How often a node's `last_seen` is written: the fleet page needs minutes, not every request.
LAST_SEEN_EVERY = timedelta(minutes=1)


def authenticate(
    method: str, path: str, body: bytes, headers: Mapping[str, str], nonces: NonceStore | None = None
) -> KnownNode:
    """The node that signed this request, or an AuthError saying what is wrong with it.

    `nonces` remembers the nonces seen in the replay window (default: central's database;
    central itself passes the memory or shared-Redis store, so a request writes nothing)."""
    node_id = headers.get(HEADERS.NODE)
    if not node_id or not headers.get(HEADERS.SIGNATURE):
        raise UnsignedError(N_("Запрос не подписан ключом узла"))
    node = KnownNode.find(node_id)
    if node is None:
        raise UnknownNodeError(N_("Узел %(node)s не зарегистрирован в центре"), node=node_id)
    if node.revoked:
        raise RevokedError(N_("Доступ поста к центру отозван: позвоните в техническую поддержку"))
    check_signature(node.public_key, method, path, body, headers)
    try:
        sent_ms = int(headers.get(HEADERS.TIME, ""))
    except ValueError as exc:
        raise StaleRequestError(N_("В запросе нет времени подписи")) from exc
    if abs(time.time() * 1000 - sent_ms) > REPLAY_WINDOW.total_seconds() * 1000:
        raise StaleRequestError(
            N_("Запрос устарел или часы поста сильно расходятся с центром: повторите синхронизацию")
        )
    store = nonces if nonces is not None else DatabaseNonces()
    if not store.first_time(node_id, headers.get(HEADERS.NONCE, ""), 2 * REPLAY_WINDOW.total_seconds()):
        raise ReplayError(N_("Повторно отправленный запрос отклонён"))
    now = utcnow()
    if node.last_seen is None or now - node.last_seen >= LAST_SEEN_EVERY:
        KnownNode.update(last_seen=now).where(KnownNode.node_id == node_id).execute()
    return node


def hello(node: KnownNode, payload: dict[str, Any]) -> dict[str, Any]:
    """Negotiate versions; a node whose schema is older than central's must update first."""
    protocol, schema = payload.get("protocol"), payload.get("schema")
    if not (isinstance(protocol, int) and isinstance(schema, int)) or not all(
        type(v) is int and 0 <= v < _MAX_VERSION for v in (protocol, schema)
    ):
        raise MalformedError(N_("В приветствии нет версий протокола и схемы"))
    software = str(payload.get("software", ""))[:32]
    if (node.schema_version, node.software_version) != (schema, software):  # the fleet page shows both
        KnownNode.update(schema_version=schema, software_version=software).where(
            KnownNode.node_id == node.node_id
        ).execute()
    require_versions(protocol, schema)
    return {
        "protocol": PROTOCOL_VERSION,
        "schema": schema_version(),
        "organization": node.organization_id,
        "features": list(FEATURES),
    }


def _version_error() -> VersionError:
    return VersionError(
        N_("Требуется обновление программы поста: центр использует протокол %(p)s, схему %(s)s"),
        p=PROTOCOL_VERSION,
        s=schema_version(),
    )


def require_versions(protocol: Any, schema: Any) -> None:
    """Refuse a node that cannot talk to this central (VersionError): another protocol, or a
    replicated schema older than central's. The hello says both, and so does the pull of a round
    that skipped its hello (`protocol=`, `schema=` in its query); None: not said (an older
    node's pull)."""
    said_protocol, said_schema = _version_arg("protocol", protocol), _version_arg("schema", schema)
    if said_protocol is not None and said_protocol != PROTOCOL_VERSION:
        raise _version_error()
    if said_schema is not None and said_schema < schema_version():
        raise _version_error()


def _version_arg(name: str, value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = value if type(value) is int else int(str(value), 10)
    except ValueError as exc:
        raise MalformedError(N_("Параметр %(name)s должен быть числом"), name=name) from exc
    if not 0 <= number < _MAX_VERSION:
        raise MalformedError(N_("Параметр %(name)s вне допустимых пределов"), name=name)
    return int(number)


def accept_push(node: KnownNode, payload: dict[str, Any]) -> dict[str, Any]:
    """Apply a pushed batch; with `pull: {cursor, limit}`, answer with the first pull page too."""
    records = payload.get("records")
    if not isinstance(records, list):
        raise MalformedError(N_("В пакете нет списка записей"))
    pull = _pull_request(payload.get("pull"))
    result = apply_records(records, peer=node.node_id, from_central=False, scope_org=node.organization_id)
    answer = result.as_dict()
    if pull is not None:
        answer["pull"] = changes_since(node, *pull)
    return answer


def _pull_request(pull: Any) -> tuple[int, int] | None:
    """(cursor, limit) of a pull asked for along with a push, checked before anything is applied."""
    if pull is None:
        return None
    if isinstance(pull, dict):
        cursor, limit = pull.get("cursor"), pull.get("limit")
        if type(cursor) is int and type(limit) is int:
            return pull_bounds(cursor, limit)
    raise MalformedError(N_("Курсор и размер пакета должны быть числами"))


#: A change number fits a signed 64-bit column; a page is at most this many records asked.
_MAX_CURSOR = 2**63 - 1
_MAX_LIMIT = 1_000_000


def pull_bounds(cursor: Any, limit: Any) -> tuple[int, int]:
    """A pull's cursor and page size as whole numbers in range (query strings or JSON)."""
    try:
        values = [int(v) if type(v) is int else int(str(v), 10) for v in (cursor, limit)]
    except ValueError as exc:
        raise MalformedError(N_("Курсор и размер пакета должны быть числами")) from exc
    cursor, limit = values
    if not (0 <= cursor <= _MAX_CURSOR and 0 <= limit <= _MAX_LIMIT):
        raise MalformedError(N_("Курсор или размер пакета вне допустимых пределов"))
    return cursor, limit


def pull(
    node: KnownNode,
    cursor: Any,
    limit: Any,
    *,
    protocol: Any = None,
    schema: Any = None,
    known: PostChanges | None = None,
) -> dict[str, Any]:
    """A pull's page (`changes_since`); the versions, if the node said them, must do. (The route
    adds central's clock, so that a node whose round skipped the hello measures it all the same.)"""
    cursor, limit = pull_bounds(cursor, limit)
    require_versions(protocol, schema)
    return changes_since(node, cursor, limit, known=known)


def changes_since(
    node: KnownNode, cursor: int, limit: int = 500, *, known: PostChanges | None = None
) -> dict[str, Any]:
    """Central's records in the node's scope changed after `cursor`, oldest first; `known`: this
    process's memory of which posts the latest changes concern, if it keeps one."""
    limit = max(1, min(limit, MAX_PULL))
    # A change number is taken by updating one counter row, whose lock is held until the
    # writer commits (SQLite: one writer at all; PostgreSQL: the row lock). So every number
    # up to the committed counter is already visible.
    latest = latest_seq()
    if latest <= cursor:  # nothing changed since: one query, not one per model nor a transaction
        return {"records": [], "cursor": cursor, "more": False}
    if known is not None and (skip := known.skip_to(node.organization_id, cursor, latest)) is not None:
        return {"records": [], "cursor": skip, "more": False}  # changes, none in this post's scope
    with read_snapshot():  # one snapshot for the sequence and the rows
        settled = max(cursor, latest_seq())
        page, more = collect_changes(cursor, limit, not_by=node.node_id, scope_org=node.organization_id)
    if more:
        new_cursor = page[-1].seq
    else:
        # Skip past others' changes too, so that later pulls stay cheap.
        new_cursor = max([settled] + [row.seq for row in page[-1:]])
    return {"records": [row.to_wire() for row in page], "cursor": new_cursor, "more": more}


def missing_blobs(node: KnownNode, store: BlobStore, shas: Any) -> list[str]:
    """Which of these blobs central lacks *for this post*: all but those it delivered itself or
    may read (so the answer tells nothing of other posts' files)."""
    if not isinstance(shas, list) or not all(isinstance(s, str) for s in shas):
        raise MalformedError(N_("Ожидался список контрольных сумм"))
    if len(shas) > MAX_PULL:
        raise MalformedError(N_("Слишком длинный список контрольных сумм"))
    for sha in shas:
        store.path(sha)  # refuses a malformed digest
    readable = _readable(node, [sha for sha in shas if store.has(sha)])
    return [sha for sha in shas if sha not in readable]


def upload_offsets(node: KnownNode, store: BlobStore, shas: list[str]) -> dict[str, int]:
    """How much of each blob this post has sent already, for its files with a partial upload."""
    org = node.organization_id
    staged = {sha: store.staged(sha, org, sender_holds=False) for sha in shas}
    partial = [sha for sha, held in staged.items() if held > 0]
    if not partial:
        return {}
    blobs = replication().blobs
    scope = blobs.model.scope_for_post(org)
    query = blobs.model.select(blobs.sha256_field).where(blobs.sha256_field.in_(partial) & scope)
    return {sha: staged[sha] for sha in query.scalars()}


def blob_size(node: KnownNode, sha: str) -> int:
    """The size the attachment's metadata declares for a blob (what an upload must reach)."""
    blobs = replication().blobs
    scope = blobs.model.scope_for_post(node.organization_id)
    size = blobs.model.select(blobs.size_field).where((blobs.sha256_field == sha) & scope).limit(1).scalar()
    if size is None:
        raise ScopeError(N_("Файл не относится к обращениям этого поста"))
    return int(size)


def may_send_blob(node: KnownNode, sha: str) -> None:
    """A node may send only blobs of attachments in its scope."""
    blob_size(node, sha)


def holds_blob(node: KnownNode, sha: str) -> bool:
    """Has this node's post delivered these bytes to central in full?"""
    return bool(
        BlobHolder.select()
        .where((BlobHolder.sha256 == sha) & (BlobHolder.organization_id == node.organization_id))
        .exists()
    )


def blob_received(node: KnownNode, sha: str) -> None:
    """Record that the node's post delivered (and central verified) a blob's bytes."""
    BlobHolder.insert(sha256=sha, organization_id=node.organization_id).on_conflict_ignore().execute()


def may_fetch_blob(node: KnownNode, sha: str) -> None:
    """A node may fetch a blob its post delivered, or one central attached in its scope."""
    if sha not in _readable(node, [sha]):
        raise ScopeError(N_("Файл не относится к обращениям этого поста"))


def _readable(node: KnownNode, shas: list[str]) -> set[str]:
    if not shas:
        return set()
    org = node.organization_id
    held = BlobHolder.select(BlobHolder.sha256).where(
        BlobHolder.sha256.in_(shas) & (BlobHolder.organization_id == org)
    )
    blobs = replication().blobs
    model = blobs.model
    made_here = model.select(blobs.sha256_field).where(
        blobs.sha256_field.in_(shas) & (model.origin == CENTRAL) & model.scope_for_post(org)
    )
    return {row.sha256 for row in held} | set(made_here.scalars())
