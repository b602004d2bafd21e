"""A kiosk's disk dies: its backup, restored on a fresh machine, syncs on without duplicating anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.processes import stop
from tests.helpers.cluster import ApiClient, Cluster, eventually, login_works, node_env
from tests.helpers.ports import free_port
from tests.helpers.provisioning import central_rows, faplink, sync_once


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path, sync_interval=3600)
    yield cluster
    cluster.stop_all()


def _register(post: str, last_name: str, phone: str) -> str:
    patient = {
        "last_name": last_name,
        "first_name": "Иван",
        "birth_date": "1950-01-02",
        "sex": "male",
        "phone": phone,
    }
    response = ApiClient(post, "fap1").post("/api/v1/patients", json=patient)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _count(cluster: Cluster, last_name: str) -> int:
    return int(central_rows(cluster, "SELECT count(*) FROM patient WHERE last_name = ?", last_name)[0][0])


def test_backup_of_a_running_kiosk_restored_elsewhere_syncs_without_duplicates(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.start_central()
    cluster.start_post(0)
    post = cluster.post_url(0)
    eventually(lambda: login_works(post, "fap1"), what="the first sync")
    _register(post, "Синхронов", "+79201112233")
    ApiClient(post, "fap1").post("/api/v1/sync/now")
    eventually(lambda: _count(cluster, "Синхронов") == 1, what="the first patient at central")

    cluster.stop_central()
    _register(post, "Неотправленный", "+79204445566")  # still only on the kiosk
    archive = tmp_path / "usb" / "kiosk.tar.gz"
    running = str(cluster.plan["posts"][0]["dir"])  # type: ignore[index]
    key_env = node_env(running)  # the post's data key (its test key file)
    made = faplink("provision", "backup", "--data", running, "--out", str(archive), env=key_env)
    assert made.returncode == 0, made.stderr  # taken while the node runs
    # While its service runs the kiosk is neither retired under it nor served a second time.
    refused = faplink("provision", "decommission", "--data", running, "--yes")
    assert refused.returncode == 1 and "Служба киоска работает" in refused.stderr, refused.stderr
    twice = faplink("node", "run", "--port", str(free_port()), "--data", running, timeout=60)
    assert twice.returncode == 1 and "Служба киоска уже работает" in twice.stderr, twice.stderr
    assert (Path(running) / "node.db").is_file() and (Path(running) / "node.key").is_file()
    stop(cluster.posts.pop(0))  # the old machine is gone

    fresh = tmp_path / "new-machine"
    # The new machine has no key: the post's feldsher opens the encrypted backup with their login.
    opened = "fap1\ndemo1234\n"
    restored = faplink("provision", "restore", "--from", str(archive), "--data", str(fresh), input=opened)
    assert restored.returncode == 0, restored.stderr
    status = json.loads(faplink("provision", "status", "--data", str(fresh), "--json", env=key_env).stdout)
    assert status["queues"]["records"] >= 1 and status["node_id"] == "demo-post-1"

    cluster.start_central()
    first = sync_once(fresh, key_env)
    assert first["refused"] == [] and first["pushed"] >= 1 and first["pulled"] == 0
    assert (first["blobs_up"], first["blobs_down"]) == (0, 0)
    assert _count(cluster, "Синхронов") == 1 and _count(cluster, "Неотправленный") == 1
    again = sync_once(fresh, key_env)
    assert (again["pushed"], again["pulled"], again["blobs_down"]) == (0, 0, 0)
    assert _count(cluster, "Синхронов") == 1 and _count(cluster, "Неотправленный") == 1

    # The replacement machine is retired in turn: last sync, key revoked, patient data wiped.
    assert faplink("provision", "decommission", "--data", str(fresh)).returncode == 2  # no --yes
    retired = faplink("provision", "decommission", "--data", str(fresh), "--yes", env=key_env)
    assert retired.returncode == 0, retired.stderr
    assert "Ключ в центре: отозван" in retired.stdout
    left = {p.name for p in fresh.iterdir()}
    assert (
        {"node.json.decommissioned", "provision.log"}
        <= left
        <= {"node.json.decommissioned", "provision.log", "provision.json"}
    )
    assert not left & {"node.db", "node.key", "blobs", "secret_key"}
    assert '"event": "decommissioned"' in (fresh / "provision.log").read_text()
    assert central_rows(cluster, "SELECT revoked FROM known_node WHERE node_id = 'demo-post-1'") == [(1,)]
