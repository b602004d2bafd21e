"""A feldsher's write starts a sync round at once; a request that wrote nothing does not."""

from __future__ import annotations

from typing import Any

import pytest

from domain.models import Appeal, Patient, Specialty
from sync.apply import apply_records
from sync.clock import HybridClock
from tests.helpers.data import rows
from tests.helpers.web import login


@pytest.fixture
def rounds_asked(node_app, monkeypatch) -> tuple[Any, Any, list[str]]:  # type: ignore[no-untyped-def]
    """Post 1's node, with every «start a round now» said to the sync worker noted."""
    app, data = node_app
    asked: list[str] = []
    monkeypatch.setattr(app.extensions["sync_worker"], "trigger", lambda: asked.append("round"))
    return app, data, asked


def test_an_emergency_appeal_starts_a_round_at_once(rounds_asked) -> None:  # type: ignore[no-untyped-def]
    app, data, asked = rounds_asked
    client = app.test_client()
    token = login(client, "fap1")
    asked.clear()  # the login itself is written in the access journal, which central keeps
    created = client.post(
        "/api/v1/appeals",
        json={
            "patient": data.patients["Кузьмин Пётр Васильевич@1"],
            "specialty": Specialty.get(Specialty.name == "Кардиология").id,
            "form_of_care": "emergency",
            "question": "Боль за грудиной 40 минут, не проходит после нитроглицерина",
            "consent_by": "patient",  # the ИДС to the consultation
        },
        headers={"X-CSRF-Token": token},
    )
    assert created.status_code == 201, created.get_json()
    assert asked == ["round"]


def test_a_request_that_wrote_nothing_starts_no_round(rounds_asked) -> None:  # type: ignore[no-untyped-def]
    app, data, asked = rounds_asked
    client = app.test_client()
    token = login(client, "fap1")
    asked.clear()
    patients = rows(Patient)
    refused = client.post(
        "/api/v1/patients",
        json={
            "last_name": "Орлов",
            "first_name": "Илья",
            "birth_date": "1970-01-02",
            "sex": "male",
            "snils": "1",
        },
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 400 and rows(Patient) == patients
    assert client.get("/api/v1/appeals").status_code == 200
    assert asked == []


def test_rows_a_round_brought_meanwhile_do_not_count_as_the_feldsher_s(rounds_asked) -> None:  # type: ignore[no-untyped-def]
    app, data, asked = rounds_asked
    client = app.test_client()
    token = login(client, "fap1")
    asked.clear()
    patient = Patient.get_by_id(data.patients["Кузьмин Пётр Васильевич@1"])
    stamp = HybridClock("central", patient.hlc).now()
    from_central = patient.to_wire() | {"changed_by": "central", "hlc": stamp}
    from_central["fields"] = dict(from_central["fields"], phone="+79150009988")

    def a_round_while_the_request_runs() -> None:
        with app.app_context():
            assert not apply_records([from_central], peer="central", from_central=True).refused

    app.before_request_funcs.setdefault(None, []).append(a_round_while_the_request_runs)
    refused = client.post("/api/v1/patients", json={"last_name": ""}, headers={"X-CSRF-Token": token})
    assert refused.status_code == 400
    assert Patient.get_by_id(patient.id).phone == "+79150009988"  # the seq moved, by central
    assert asked == []
    assert rows(Appeal) == 0
