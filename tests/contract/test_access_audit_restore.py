"""«Журнал доступа» across a restore from a backup: the restored post's chain goes on from the
backup's head, the restore is a row of it, and central, holding the replaced machine's later
rows too, sees a recorded fork that `faplink central audit verify` accepts and names."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from domain.models import AccessAction, AccessEntry, Patient, verify_chains
from node import create_app
from node.datakey import DataKey
from provisioning.backup import backup, restore
from provisioning.layout import NodeDir
from sync.changes import collect_changes
from sync.db import database
from sync.request_signing import NodeKey
from sync.server import register_node
from tests.contract.helpers import Kiosk
from tests.helpers.data import TEST_DATA_KEY
from tests.helpers.web import login

NODE = "test-post-1"  # the node of the `node_app` fixture
KEY = DataKey.from_hex(TEST_DATA_KEY)


def _journal_rows() -> list[dict]:  # type: ignore[type-arg]
    written, _more = collect_changes(0, 10_000, only_by=NODE)
    return [row.to_wire() for row in written if row.to_wire()["model"] == "access_entry"]


def _verify(data_dir: Path) -> tuple[int, str]:
    from faplink.cli import main

    result = CliRunner().invoke(main, ["central", "audit", "verify", "--data", str(data_dir)])
    return result.exit_code, result.output


def _at(position: int) -> list[AccessEntry]:
    return list(AccessEntry.select().where((AccessEntry.origin == NODE) & (AccessEntry.position == position)))


def test_a_restored_post_goes_on_from_its_backup_and_central_sees_the_fork(  # type: ignore[no-untyped-def]
    node_app, seeded_template, tmp_path
) -> None:
    node, data = node_app
    post = data.posts[0][0]
    feldsher = node.test_client()
    login(feldsher, "fap1")  # row 1
    patient = Patient.get((Patient.organization == post) & (Patient.deleted == False))  # noqa: E712
    assert feldsher.get(f"/patients/{patient.id}").status_code == 200  # row 2
    nd = NodeDir(Path(node.config["DATA_DIR"]))
    nd.remember_key(KEY)
    archive = tmp_path / "usb" / "kiosk.tar.gz"
    backup(nd, archive)  # the chain's head in the backup: row 2
    [head] = _at(2)
    assert feldsher.get(f"/patients/{patient.id}").status_code == 200  # row 3, on the old machine only
    old_machine = _journal_rows()
    assert len(old_machine) == 3
    database.close()

    # The old machine dies; the engineer restores the backup on a new one.
    target = NodeDir(tmp_path / "new-machine")
    restore(archive, target, lambda _root: KEY)
    restored = create_app(
        {"DATA_DIR": target.root, "SYNC_ENABLED": False, "TESTING": True, "DATA_KEY": KEY.raw}
    )
    [restore_row] = _at(3)
    assert restore_row.action == AccessAction.RESTORE
    assert (restore_row.prev_hash, restore_row.organization_id, restore_row.staff_id) == (
        head.row_hash,
        post,
        None,
    )
    login(restored.test_client(), "fap1")  # the new machine's first row follows the restore
    [next_row] = _at(4)
    assert next_row.prev_hash == restore_row.row_hash
    assert verify_chains()[1] == []  # the post's own chain, head included, holds
    new_machine = [r for r in _journal_rows() if r["id"] not in {o["id"] for o in old_machine}]
    assert [r["fields"]["position"] for r in new_machine] == [3, 4]
    database.close()

    # Central got rows 1–3 from the old machine, then the restore and row 4 from the new one.
    central_dir = tmp_path / "central"
    central_dir.mkdir()
    shutil.copyfile(seeded_template[0], central_dir / "central.db")
    from central import create_app as create_central

    central = create_central({"DATA_DIR": central_dir, "TESTING": True})
    key = NodeKey.generate()
    register_node(NODE, post, key.public_hex)
    kiosk = Kiosk(central.test_client(), key, NODE, post)
    assert kiosk.push(*old_machine)["applied"] == 3
    answer = kiosk.push(*new_machine)
    assert answer["applied"] == 2 and not answer["refused"], answer
    assert len(_at(3)) == 2  # two rows follow row 2: the old machine's and the restore

    code, output = _verify(central_dir)
    assert code == 0, output
    assert f"fork: chain {NODE}: row 3 ({restore_row.id}): restored from a backup" in output
    assert "intact: 5 rows" in output

    # Only a restore may follow a row a second time: the same row as a «view» is a forged fork.
    forged = AccessEntry.get_by_id(restore_row.id)
    forged.action = AccessAction.VIEW
    AccessEntry.update(action=forged.action, row_hash=forged.computed_hash()).where(
        AccessEntry.id == forged.id
    ).execute()
    code, output = _verify(central_dir)
    assert code == 1 and "row 3" in output and "a second row at this position (a forged fork)" in output
