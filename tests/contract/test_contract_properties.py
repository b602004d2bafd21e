"""Arbitrary pushes from post A (random models, values, references into post B, central or
nowhere, forged authors, kinds and dates) never touch B, never show A anything of B's, never
hand A a file of B's, never move central's clock, and never make central answer 5xx."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
)

from domain.models import (
    REPLICATED_MODELS,
    AppealStatus,
    Attachment,
    AttachmentKind,
    ConsentGiver,
    DiagnosisRole,
    FormOfCare,
)
from sync.clock import Stamp, utcnow
from sync.db import replica
from sync.model import SyncModel
from tests.contract.helpers import Kiosk, json_of, own_appeal

#: Enough to matter inside `make test`; FAPLINK_CONTRACT_EXAMPLES raises it for a longer hunt.
EXAMPLES = int(__import__("os").environ.get("FAPLINK_CONTRACT_EXAMPLES", "200"))
DAY_MS = 24 * 3600 * 1000
WORDS = [
    *AttachmentKind.ALL,
    *AppealStatus.ALL,
    *FormOfCare.ALL,
    *ConsentGiver.ALL,
    *DiagnosisRole.ALL,
    "female",
    "male",
    "A",
    "feldsher",
    "consultant",
    "+79161234567",
    "11223344595",
]


def _scope_ids(model: type[SyncModel], post_id: str) -> set[str]:
    condition = model.scope_for_post(post_id)
    query = model.select(model.id)
    if condition is not None:
        query = query.where(condition)
    return {row.id for row in query}


def _snapshot(post_id: str) -> str:
    """Every row in the post's scope, as stored: any change to any of them changes this."""
    digest = hashlib.sha256()
    for model in REPLICATED_MODELS:
        condition = model.scope_for_post(post_id)
        query = model.select().order_by(model.id)
        if condition is not None:
            query = query.where(condition)
        for row in query:
            digest.update(json.dumps(row.to_wire(), sort_keys=True, default=str).encode())
    return digest.hexdigest()


@pytest.fixture
def world(kiosks):  # type: ignore[no-untyped-def]
    """Post B with an appeal, a file and its bytes at central; post A with an appeal of its own."""
    app, data, attacker, victim = kiosks
    secret = b"B's discharge summary " * 40
    sha = hashlib.sha256(secret).hexdigest()
    appeal = own_appeal(victim, data)
    record = victim.wire(
        Attachment(
            appeal=appeal["id"], filename="b.txt", content_type="text/plain", size=len(secret), sha256=sha
        )
    )
    assert victim.push(record)["applied"] == 1 and victim.upload(sha, secret).status_code == 200
    own_appeal(attacker, data)
    pools: dict[type[SyncModel], list[str]] = {}
    private: set[str] = set()
    for model in REPLICATED_MODELS:
        mine, theirs = _scope_ids(model, attacker.post_id), _scope_ids(model, victim.post_id)
        private |= theirs - mine
        everyone = {row.id for row in model.select(model.id).limit(50)}
        pools[model] = sorted(mine)[:6] + sorted(theirs - mine)[:6] + sorted(everyone)[:6]
    return app, attacker, victim, sha, private, pools


def _value(field: Any, pools: dict[type[SyncModel], list[str]]) -> st.SearchStrategy[Any]:
    now = utcnow()
    if isinstance(field, ForeignKeyField):
        ids = pools.get(field.rel_model, [])
        return st.one_of(st.sampled_from(ids) if ids else st.nothing(), st.just(str(uuid.uuid4())), st.none())
    if isinstance(field, DateTimeField):
        return st.integers(-400, 400).map(lambda days: (now + timedelta(days=days)).isoformat())
    if isinstance(field, DateField):
        return st.dates(date(1890, 1, 1), date(2100, 1, 1)).map(date.isoformat)
    if isinstance(field, BooleanField):
        return st.booleans() | st.none()
    if isinstance(field, IntegerField | BigIntegerField):
        return st.integers(-(2**63), 2**63 - 1) | st.none()
    if isinstance(field, FloatField):
        return st.floats(allow_nan=False, allow_infinity=False) | st.none()
    if isinstance(field, CharField):
        return st.sampled_from(WORDS) | st.text(max_size=12) | st.none()
    return st.text(max_size=30) | st.none()


@st.composite
def _pushes(draw: st.DrawFn, kiosk: Kiosk, private: set[str], pools: dict) -> list[dict]:  # type: ignore[type-arg]
    records = []
    for _ in range(draw(st.integers(1, 3))):
        model = draw(st.sampled_from(REPLICATED_MODELS))
        fields = {f.name: draw(_value(f, pools)) for f in model.payload_fields() if f.name != "field_stamps"}
        if model.PER_FIELD:
            fields["field_stamps"] = "{}"
        known = pools.get(model, [])
        rid = draw(st.sampled_from(known) if known and draw(st.booleans()) else st.just(str(uuid.uuid4())))
        ahead_ms = draw(st.sampled_from([0, 0, 0, 60_000, 11 * 60_000, DAY_MS, 300 * DAY_MS]))
        hlc = Stamp(int(time.time() * 1000) + ahead_ms, draw(st.integers(0, 999)), kiosk.node_id).encode()
        records.append(
            {
                "model": model._meta.table_name,
                "id": rid,
                "origin": draw(st.sampled_from([kiosk.node_id, "central", "kiosk-other"])),
                "changed_by": kiosk.node_id,
                "hlc": hlc,
                "deleted": draw(st.booleans()),
                "fields": fields,
            }
        )
    return records


def test_no_push_from_post_a_breaks_post_bs_data_or_centrals_clock(world) -> None:  # type: ignore[no-untyped-def]
    app, attacker, victim, sha, private, pools = world
    before = _snapshot(victim.post_id)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=True,
    )
    @given(_pushes(attacker, private, pools))
    def push_anything(records: list[dict]) -> None:  # type: ignore[type-arg]
        response = attacker.post_json("/sync/v1/push", {"records": records})
        assert response.status_code < 500, response.data[:500]
        assert _snapshot(victim.post_id) == before, records
        wall = Stamp.decode(replica().clock.now()).wall_ms
        assert wall - time.time() * 1000 < 60_000, records  # central's clock stayed in its time

    push_anything()
    pulled = attacker.pull_all()
    assert not private & {r["id"] for r in pulled}
    leaked = {v for r in pulled for v in r["fields"].values() if isinstance(v, str)} & private
    assert not leaked
    fetched = attacker.fetch(sha)
    assert fetched.status_code == 403
    missing = json_of(attacker.post_json("/sync/v1/blobs/missing", {"sha256": [sha]}))
    assert missing["missing"] == [sha]
    assert victim.fetch(sha).status_code == 200  # B still reads its own file
