"""A post's node key at central's test client: signed pushes, pulls, blob requests as a kiosk sends them."""

from __future__ import annotations

import gzip
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from domain.models import Appeal, ConsentGiver, FormOfCare, Patient, Role, Staff
from sync.clock import HybridClock, utcnow
from sync.model import SyncModel
from sync.request_signing import NodeKey, signed_headers
from sync.wire import encode

__all__ = ["Kiosk", "record"]


def record(model: str, node: str, clock: HybridClock, fields: dict[str, Any], rid: str | None = None) -> dict:  # type: ignore[type-arg]
    """A record as a node pushes it."""
    return {
        "model": model,
        "id": rid or str(uuid.uuid4()),
        "origin": node,
        "changed_by": node,
        "hlc": clock.now(),
        "deleted": False,
        "fields": fields,
    }


@dataclass
class Kiosk:
    """One enrolled node of a post, talking to central's test client with its own key."""

    client: FlaskClient
    key: NodeKey
    node_id: str
    post_id: str

    def __post_init__(self) -> None:
        self.clock = HybridClock(self.node_id)

    def record(self, model: str, fields: dict[str, Any], rid: str | None = None) -> dict:  # type: ignore[type-arg]
        return record(model, self.node_id, self.clock, fields, rid)

    def wire(self, row: SyncModel, **meta: Any) -> dict:  # type: ignore[type-arg]
        """An unsaved model instance as this kiosk would push it (`meta` overrides origin, hlc…)."""
        row.origin, row.changed_by, row.hlc = self.node_id, self.node_id, self.clock.now()
        if not row.id:
            row.id = str(uuid.uuid4())
        return row.to_wire() | meta

    def send(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
        signed = signed_headers(self.key, self.node_id, method, path, body) | (headers or {})
        return self.client.open(path, method=method, data=body, headers=signed)

    def post_json(self, path: str, payload: Any) -> Any:
        return self.send("POST", path, encode(payload), {"Content-Encoding": "gzip"})

    def push(self, *records: dict) -> dict:  # type: ignore[type-arg]
        response = self.post_json("/sync/v1/push", {"records": list(records)})
        assert response.status_code == 200, response.data
        return json_of(response)

    def pull_all(self) -> list[dict]:  # type: ignore[type-arg]
        cursor, out = 0, []
        while True:
            path = f"/sync/v1/pull?cursor={cursor}&limit=2000"
            page = json_of(self.send("GET", path))
            out += page["records"]
            cursor = page["cursor"]
            if not page["more"]:
                return out

    def upload(self, sha: str, data: bytes) -> Any:
        return self.send("PUT", f"/sync/v1/blobs/{sha}/upload?offset=0", data)

    def fetch(self, sha: str) -> Any:
        return self.send("GET", f"/sync/v1/blobs/{sha}")


def json_of(response: Any) -> Any:
    raw = response.data
    if response.headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    return json.loads(raw)


def post_feldsher(post_id: str) -> Staff:
    return Staff.get((Staff.organization == post_id) & (Staff.role == Role.FELDSHER))


def appeal_for(kiosk: Kiosk, patient_id: str, consultant_id: str, **fields) -> Appeal:  # type: ignore[no-untyped-def]
    consultant = Staff.get_by_id(consultant_id)
    now = utcnow()
    values = {
        "patient": patient_id,
        "post": kiosk.post_id,
        "author": post_feldsher(kiosk.post_id).id,
        "specialty": consultant.specialty_id,
        "form_of_care": FormOfCare.URGENT,
        "question": "Боли в груди при нагрузке",
        "created_at": now,
        "due_at": now + timedelta(hours=24),
        "consent_by": ConsentGiver.PATIENT,
        "consent_at": now,
    } | fields
    return Appeal(**values)


def adult_patient(post_id: str) -> Patient:
    adults = Patient.select().where(
        (Patient.organization == post_id) & (Patient.birth_date < utcnow().date() - timedelta(days=365 * 30))
    )
    return adults.first()


def own_appeal(kiosk: Kiosk, data) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """A valid appeal of the kiosk's own post, pushed and stored."""
    record = kiosk.wire(appeal_for(kiosk, adult_patient(kiosk.post_id).id, data.consultants["ivanova"]))
    answer = kiosk.push(record)
    assert answer["applied"] == 1 and not answer["refused"], answer
    return record
