"""A full disk at the post: the feldsher reads «Недостаточно места на диске», and so does the
engineer's `node check`; nothing already stored is lost, and work goes on once there is room
again (a real tmpfs, really filled)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from domain.models import Patient
from runtime.processes import faplink_command
from sync.db import database
from tests.helpers.data import TEST_DATA_KEY
from tests.helpers.web import login

NEW_PATIENT = {
    "last_name": "Местова",
    "first_name": "Дарья",
    "birth_date": "1970-01-01",
    "sex": "female",
    "phone": "+79160001122",
}


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The node's data directory on a 24 MB disk of its own."""
    where = tmp_path / "node"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(where)], check=True)
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: Path) -> Path:
    """Write zeros until the disk refuses. Unbuffered: a buffered file kept the last partial
    write and failed again, uncaught, when it was closed (CI at f8e3c04)."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def test_a_full_disk_is_said_plainly_and_loses_nothing(small_disk: Path, node_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    client = app.test_client()
    token = login(client, "fap1")
    before = client.post("/api/v1/patients", json=NEW_PATIENT, headers={"X-CSRF-Token": token})
    assert before.status_code == 201, before.get_json()
    stored = Patient.select().count()

    filler = _fill(small_disk)
    refused = client.post(
        "/api/v1/patients",
        json=NEW_PATIENT | {"last_name": "Тесная", "phone": "+79160001133"},
        headers={"X-CSRF-Token": token},
    )
    assert refused.status_code == 507, refused.get_data(as_text=True)[:300]
    assert "Недостаточно места на диске" in refused.get_json()["message"]
    assert "сохранённое раньше не потеряно" in refused.get_json()["message"]
    page = client.post(
        "/patients/new",
        data=NEW_PATIENT | {"last_name": "Тесная", "phone": "+79160001133", "csrf_token": token},
    )
    assert page.status_code == 507 and "Недостаточно места на диске" in page.get_data(as_text=True)

    filler.unlink()
    assert Patient.select().count() == stored
    assert Patient.get_by_id(before.get_json()["id"]).last_name == "Местова"
    again = client.post(
        "/api/v1/patients",
        json=NEW_PATIENT | {"last_name": "Тесная", "phone": "+79160001133"},
        headers={"X-CSRF-Token": token},
    )
    assert again.status_code == 201


def test_node_check_says_the_disk_is_full_and_the_post_stays_whole(
    small_disk: Path, node_app, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    app, _ = node_app
    post = small_disk / "post"
    database.close()
    shutil.copytree(app.config["DATA_DIR"], post)
    (tmp_path / "data.key").write_text(TEST_DATA_KEY)
    env = {**os.environ, "FAPLINK_DATA_KEY_FILE": str(tmp_path / "data.key")}
    before = (post / "node.db").read_bytes()

    _fill(small_disk)
    check = subprocess.run(
        faplink_command("node", "check", "--data", str(post), "--offline", "--no-devices"),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert check.returncode == 1, check.stdout
    assert "Traceback" not in check.stdout + check.stderr, check.stderr[-3000:]
    failed = [line for line in check.stdout.splitlines() if line.lstrip().startswith("XX")]
    assert failed and all("Недостаточно места на диске" in line for line in failed), check.stdout
    # Neither the database nor anything else is called damaged: only the room is missing.
    assert "повреждена" not in check.stdout and "сохранённое раньше не потеряно" in check.stdout
    assert (post / "node.db").read_bytes() == before
