"""Node-facing fleet routes at /sync/fleet: reports, key rotation, decommission, backlog.

Every request is signed by the node's key and checked by
`sync.server.authenticate` exactly as the sync API does (so a revoked node
is refused here too). They live under /sync/ because that prefix is where
the web layer answers errors as JSON and skips the browsers' CSRF check;
the sync API's own blueprint (/sync/v1) is left alone.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Blueprint, Response, current_app, request

from central.sync_api.nodes import request_node
from domain.errors import ValidationError
from domain.models import REPLICATED_MODELS
from enrolment.protocol import FLEET_PATH, rotation_proof_message
from enrolment.recovery_key import recovery_public_hex
from i18n import N_
from sync import server
from sync.errors import BadSignatureError
from sync.state import KnownNode
from sync.wire import decode

from .bundles import centre_ca_pem
from .store import store_report

__all__ = ["node_bp"]

node_bp = Blueprint("fleet_nodes", __name__, url_prefix=FLEET_PATH)

#: A report larger than this is not a report.
_MAX_REPORT = 256 * 1024



def _payload() -> dict[str, Any]:
    body = request.get_data(cache=True)
    data = decode(body, gzipped=request.headers.get("Content-Encoding") == "gzip") if body else {}
    if not isinstance(data, dict):
        raise ValidationError(N_("Ожидался JSON-объект в теле запроса"))
    return data


def _json(data: Any, status: int = 200) -> Response:
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return Response(raw, status=status, mimetype="application/json")


def _describe(node: KnownNode) -> dict[str, Any]:
    return {"node_id": node.node_id, "organization": node.organization_id, "public_key": node.public_key}


@node_bp.get("/whoami")
def whoami() -> Any:
    """How central knows this node (a signed probe: the key works and is not revoked)."""
    return _json(_describe(request_node()))


@node_bp.post("/report")
def report() -> Any:
    """A node's health report: queues, free disk, self-test, versions, clock."""
    node = request_node()
    if len(request.get_data(cache=True)) > _MAX_REPORT:
        raise ValidationError(N_("Отчёт киоска слишком велик"))
    store_report(node.node_id, _payload())
    return _json({"ok": True})


@node_bp.post("/rotate-key")
def rotate_key() -> Any:
    """Replace the node's key: signed by the old key, with proof of holding the new one."""
    node = request_node()
    payload = _payload()
    new_hex, proof = str(payload.get("public_key", "")), str(payload.get("proof", ""))
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(new_hex)).verify(
            base64.b64decode(proof, validate=True), rotation_proof_message(node.node_id, new_hex)
        )
    except (ValueError, InvalidSignature) as exc:
        raise BadSignatureError(N_("Новый ключ киоска не подтверждён подписью")) from exc
    updated = server.register_node(node.node_id, node.organization_id, new_hex)
    current_app.logger.info("node %s rotated its key", node.node_id)
    return _json(_describe(updated))


@node_bp.post("/decommission")
def decommission() -> Any:
    """The node retires itself: its key is revoked, so nothing can sync with it again."""
    node = request_node()
    KnownNode.update(revoked=True).where(KnownNode.node_id == node.node_id).execute()
    current_app.logger.info("node %s decommissioned itself", node.node_id)
    return _json({"node_id": node.node_id, "revoked": True})


@node_bp.get("/backlog")
def backlog() -> Any:
    """How many records central holds for this node's post: the size of a first sync."""
    node = request_node()
    total = 0
    for model in REPLICATED_MODELS:
        if not model.PULLED_BY_POSTS:
            continue
        query = model.select()
        scope = model.scope_for_post(node.organization_id)
        if scope is not None:
            query = query.where(scope)
        total += query.count()
    return _json({"records": total})


@node_bp.get("/recovery-key")
def recovery_key() -> Any:
    """Central's recovery public key (X25519, hex): a post wraps a copy of its data key to it."""
    request_node()
    return _json({"public_key": recovery_public_hex(Path(current_app.config["DATA_DIR"]))})


@node_bp.get("/ca-certificate")
def ca_certificate() -> Any:
    """The certificate of the CA that signs protocols for this post ("" if none yet)."""
    node = request_node()
    return _json({"pem": centre_ca_pem(Path(current_app.config["DATA_DIR"]), node.organization_id)})
