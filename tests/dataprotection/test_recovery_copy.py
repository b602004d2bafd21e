"""Every post gets its recovery copy of the data key (central's recovery key opens it), also one
enrolled before the copy existed: its kiosk fetches central's key after a sync round, and
`node check` remarks on the missing copy until then."""

from __future__ import annotations

import subprocess
from pathlib import Path

from node import create_app
from node.datakey import DataKey, read_keyring, wrap_for_recovery, write_keyring
from node.keyring import has_recovery_copy
from provisioning.recovery import recover_data_key, recovery_public_hex
from runtime.processes import faplink_command
from sync.db import database
from tests.helpers.cluster import Cluster, eventually, node_env, node_key_file
from tests.helpers.data import TEST_DATA_KEY

KEY = DataKey.from_hex(TEST_DATA_KEY)
QUIET = {"FAPLINK_CENTRAL_LINK": "false", "FAPLINK_LINK_CHECK_ENABLED": "false"}


def test_a_keyring_that_lost_its_copy_gets_it_again_at_the_next_start(node_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, _data = node_app
    data_dir = Path(app.config["DATA_DIR"])
    central = tmp_path / "central"
    centre_key = recovery_public_hex(central)
    wrap_for_recovery(data_dir, KEY, "test-post-1", centre_key)  # as enrolment made it
    keyring = read_keyring(data_dir)
    keyring["recovery"] = {"centre_key": centre_key}  # the copy itself lost, central's key known
    write_keyring(data_dir, keyring)
    assert not has_recovery_copy(data_dir)
    database.close()

    create_app({"DATA_DIR": data_dir, "SYNC_ENABLED": False, "TESTING": True, "DATA_KEY": KEY.raw})
    database.close()
    assert has_recovery_copy(data_dir)
    assert recover_data_key(central, data_dir / "keyring.json") == KEY


def _check(post_dir: Path) -> str:
    done = subprocess.run(
        faplink_command("node", "check", "--data", str(post_dir), "--offline", "--no-devices"),
        capture_output=True,
        text=True,
        env=node_env(post_dir),
        timeout=120,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]
    return done.stdout


def test_a_post_enrolled_before_the_copy_existed_gets_it_after_a_sync_round(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, sync_interval=2)  # the demo's posts: enrolled with no keyring at all
    cluster.env.update(QUIET)
    post_dir = Path(cluster.plan["posts"][0]["dir"])  # type: ignore[index]
    central_dir = Path(cluster.plan["central"]["dir"])  # type: ignore[index]
    try:
        assert "нет копии ключа данных ФАП для ключа восстановления центра" in _check(post_dir)
        cluster.start_central()
        cluster.start_post(0)
        eventually(lambda: has_recovery_copy(post_dir), timeout=60, what="the recovery copy after a round")
        assert "ключ восстановления центра откроет данные ФАП" in _check(post_dir)
    finally:
        cluster.stop_all()

    out = tmp_path / "usb" / "post.key"
    out.parent.mkdir()
    keyring = post_dir / "keyring.json"  # what the engineer carries to central
    done = subprocess.run(
        faplink_command(
            "provision",
            "recover-key",
            "--data",
            str(central_dir),
            "--keyring",
            str(keyring),
            "--out",
            str(out),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert out.read_text() == node_key_file(post_dir).read_text().strip()
