"""«Журнал доступа» across the sync: the post's rows reach central as they were written, the
post can neither change nor delete them there, pulls none back, and `faplink central audit
verify` finds a changed or a deleted row in any chain."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from domain.models import AccessEntry, Patient, verify_chains
from sync.changes import collect_changes
from sync.db import CENTRAL, database
from sync.request_signing import NodeKey
from sync.server import register_node
from tests.contract.helpers import Kiosk
from tests.helpers.web import login

NODE = "test-post-1"  # the node of the `node_app` fixture


def _central(tmp_path: Path, template: Path):  # type: ignore[no-untyped-def]
    from central import create_app

    data_dir = tmp_path / "central"
    data_dir.mkdir()
    shutil.copyfile(template, data_dir / "central.db")
    app = create_app({"DATA_DIR": data_dir, "TESTING": True})
    return app, data_dir


def _verify(data_dir: Path) -> tuple[int, str]:
    from faplink.cli import main

    result = CliRunner().invoke(main, ["central", "audit", "verify", "--data", str(data_dir)])
    return result.exit_code, result.output


def test_the_posts_journal_reaches_central_unchanged_and_stays_the_posts(  # type: ignore[no-untyped-def]
    node_app, seeded_template, tmp_path
) -> None:
    node, data = node_app
    post = data.posts[0][0]
    feldsher = node.test_client()
    login(feldsher, "fap1")
    patient = Patient.get((Patient.organization == post) & (Patient.deleted == False))  # noqa: E712
    assert feldsher.get(f"/patients/{patient.id}").status_code == 200
    assert feldsher.get("/patients", query_string={"q": "Петров"}).status_code == 200
    written, _more = collect_changes(0, 10_000, only_by=NODE)
    records = [row.to_wire() for row in written]
    assert [r["model"] for r in records] == ["access_entry"] * 3
    database.close()

    central, data_dir = _central(tmp_path, seeded_template[0])
    key = NodeKey.generate()
    register_node(NODE, post, key.public_hex)
    kiosk = Kiosk(central.test_client(), key, NODE, post)
    consultant = central.test_client()
    login(consultant, "ivanova")  # central's own chain gets a row

    answer = kiosk.push(*records)
    assert answer["applied"] == 3 and not answer["refused"]
    arrived = list(AccessEntry.select().where(AccessEntry.origin == NODE).order_by(AccessEntry.position))
    assert [(r.position, r.action, r.patient) for r in arrived] == [
        (1, "login", ""),
        (2, "view", patient.id),
        (3, "search", ""),
    ]
    assert all(r.organization_id == post and r.row_hash == r.computed_hash() for r in arrived)
    assert verify_chains()[1] == []
    # Nothing of the journal comes back to a post: neither its own rows nor central's.
    assert not [r for r in kiosk.pull_all() if r["model"] == "access_entry"]
    assert AccessEntry.select().where(AccessEntry.origin == CENTRAL).count() == 1

    # The post's key may be stolen: an edited or deleted row, or one in another post's name,
    # is refused, and central keeps what it had.
    edited = records[1] | {"hlc": kiosk.clock.now(), "fields": records[1]["fields"] | {"patient": ""}}
    deleted = records[2] | {"hlc": kiosk.clock.now(), "deleted": True}
    other = kiosk.wire(
        AccessEntry(
            position=4, action="view", organization=data.posts[1][0], prev_hash=arrived[-1].row_hash,
            row_hash="0" * 64,
        )
    )  # fmt: skip
    answer = kiosk.push(edited, deleted, other)
    assert answer["applied"] == 0 and len(answer["refused"]) == 3, answer
    assert {r["error"] for r in answer["refused"]} == {"out_of_scope"}
    kept = AccessEntry.select().where(AccessEntry.origin == NODE).order_by(AccessEntry.position)
    assert [(r.position, r.patient, r.deleted) for r in kept] == [
        (1, "", False),
        (2, patient.id, False),
        (3, "", False),
    ]

    code, output = _verify(data_dir)
    assert code == 0 and "intact: 4 rows" in output, output


def test_audit_verify_names_a_changed_and_a_deleted_row(central_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, _data = central_app
    client = app.test_client()
    for _ in range(3):
        login(client, "ivanova")
    data_dir = Path(app.config["DATA_DIR"])
    code, output = _verify(data_dir)
    assert code == 0 and "intact: 3 rows" in output, output
    second = AccessEntry.get((AccessEntry.origin == CENTRAL) & (AccessEntry.position == 2))

    database.execute_sql("UPDATE access_entry SET address = '10.0.0.66' WHERE id = ?", (second.id,))
    code, output = _verify(data_dir)
    assert code == 1 and second.id in output and "changed after it was written" in output, output
    database.execute_sql("UPDATE access_entry SET address = ? WHERE id = ?", (second.address, second.id))
    assert _verify(data_dir)[0] == 0

    database.execute_sql("DELETE FROM access_entry WHERE id = ?", (second.id,))
    code, output = _verify(data_dir)
    third = AccessEntry.get((AccessEntry.origin == CENTRAL) & (AccessEntry.position == 3))
    assert code == 1 and third.id in output and "rows 2–2 before it are missing" in output, output

    # The last row cut off: the chain's head still names it.
    database.execute_sql("DELETE FROM access_entry WHERE position > 1")
    code, output = _verify(data_dir)
    assert code == 1 and "written up to row 3" in output, output


def test_an_edit_with_its_hash_made_anew_breaks_the_next_row(central_app) -> None:  # type: ignore[no-untyped-def]
    app, _data = central_app
    client = app.test_client()
    for _ in range(3):
        login(client, "ivanova")
    first = AccessEntry.get((AccessEntry.origin == CENTRAL) & (AccessEntry.position == 1))
    first.address = "10.0.0.66"
    forged = first.computed_hash()
    AccessEntry.update(address=first.address, row_hash=forged).where(AccessEntry.id == first.id).execute()
    _checked, breaks = verify_chains()
    assert [(b.writer, b.position) for b in breaks] == [(CENTRAL, 2)]
    assert "does not follow the row before it" in breaks[0].reason
