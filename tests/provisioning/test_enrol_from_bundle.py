"""A post with no link: the kiosk is enrolled from a bundle on a USB stick and syncs when central appears."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from enrolment.bundle import open_bundle, seal
from runtime.processes import faplink_command, start, stop, wait_http
from tests.helpers.cluster import ApiClient, Cluster, eventually, login_works
from tests.helpers.ports import free_port
from tests.helpers.provisioning import central_dir, central_rows, faplink, opened_env, post_id, sync_once


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path, sync_interval=3600)
    yield cluster
    cluster.stop_all()


def _register_offline(kiosk: Path) -> str:
    """At the post, no link: the feldsher logs in and registers a patient; returns the patient's id."""
    port = free_port()
    node = start(
        faplink_command("node", "run", "--port", str(port), "--data", str(kiosk)), kiosk.parent / "k.log"
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/login", process=node)
        assert login_works(base, "fap1")  # at once: the feldsher's login came with the bundle
        feldsher = ApiClient(base, "fap1")
        patient = {
            "last_name": "Флешкина",
            "first_name": "Ольга",
            "birth_date": "1961-04-12",
            "sex": "female",
            "phone": "+79201234567",
        }
        response = feldsher.post("/api/v1/patients", json=patient)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])
    finally:
        stop(node)


def test_offline_enrolment_works_with_central_stopped_and_syncs_once_it_starts(
    cluster: Cluster, tmp_path: Path
) -> None:
    bundle_file = tmp_path / "stick" / "kiosk.bundle"
    bundle_file.parent.mkdir()
    exported = faplink(
        "provision", "export-bundle", "--data", central_dir(cluster), "--organization", post_id(cluster),
        "--central", cluster.central_url, "--out", str(bundle_file),
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    centre_fp = re.search(r"Отпечаток ключа центра: ([0-9A-F ]+)", exported.stdout).group(1)  # type: ignore[union-attr]

    kiosk = tmp_path / "kiosk"
    data = bundle_file.read_bytes()
    for position in (5, 40, 120, len(data) // 2, len(data) - 1):
        tampered = tmp_path / "stick" / f"tampered-{position}.bundle"
        tampered.write_bytes(data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :])
        refused = faplink("provision", "enroll", "--data", str(kiosk), "--bundle", str(tampered))
        assert refused.returncode == 1
        assert "Пакет регистрации повреждён или изменён" in refused.stderr or "не пакет" in refused.stderr
        assert not (kiosk / "node.json").exists() and not (kiosk / "node.key").exists()

    enrolled = faplink("provision", "enroll", "--data", str(kiosk), "--bundle", str(bundle_file))
    assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
    assert f"Ключ центра:      {centre_fp}" in enrolled.stdout
    assert "Петрова А.И. (fap1)" in enrolled.stdout
    patient_id = _register_offline(kiosk)

    cluster.start_central()
    first = sync_once(kiosk, opened_env(kiosk))
    assert first["refused"] == [] and first["pushed"] >= 1
    assert first["pulled"] == 0  # the bundle brought everything up to its cursor
    assert central_rows(cluster, "SELECT last_name FROM patient WHERE id = ?", patient_id) == [("Флешкина",)]
    assert central_rows(cluster, "SELECT count(*) FROM patient WHERE last_name = 'Флешкина'") == [(1,)]
    again = sync_once(kiosk, opened_env(kiosk))
    assert (again["pushed"], again["pulled"]) == (0, 0)


def test_the_reporter_replaces_the_bundle_key_and_reports_after_a_round(
    cluster: Cluster, tmp_path: Path
) -> None:
    """What node/syncing.py wires in: attach_reporter(client, identity)."""
    bundle_file = tmp_path / "kiosk.bundle"
    args = [
        "--data",
        central_dir(cluster),
        "--organization",
        post_id(cluster),
        "--central",
        cluster.central_url,
    ]
    assert faplink("provision", "export-bundle", *args, "--out", str(bundle_file)).returncode == 0
    kiosk = tmp_path / "kiosk"
    assert faplink("provision", "enroll", "--data", str(kiosk), "--bundle", str(bundle_file)).returncode == 0
    node_id = open_bundle(bundle_file.read_bytes()).node_id
    stick_key = (kiosk / "node.key").read_bytes()
    cluster.start_central()

    from node import create_app
    from node.datakey import unlock_with_password
    from provisioning.report import attach_reporter
    from sync.db import database

    key = unlock_with_password(kiosk, "fap1", "demo1234")  # the bundle brought the feldsher's login
    assert key is not None
    app = create_app({"DATA_DIR": kiosk, "SYNC_ENABLED": False, "DATA_KEY": key.raw})
    try:
        client, identity = app.extensions["sync_client"], app.extensions["identity"]
        attach_reporter(client, identity, every=0)
        client.run_round()
        assert (kiosk / "node.key").read_bytes() != stick_key
        [(public_key,)] = central_rows(
            cluster, "SELECT public_key FROM known_node WHERE node_id = ?", node_id
        )
        assert public_key == client.key.public_hex
        client.run_round()  # signed with the kiosk's own key now
        eventually(
            lambda: (
                central_rows(cluster, "SELECT count(*) FROM node_report WHERE node_id = ?", node_id) == [(1,)]
            ),
            what="the kiosk's report at central",
        )
    finally:
        database.close()

    # A second bundle for this kiosk must come from the same centre: the first one pinned its key.
    foreign = open_bundle(bundle_file.read_bytes())
    forged = tmp_path / "forged.bundle"
    forged.write_bytes(seal(foreign.payload, Ed25519PrivateKey.generate()))
    refused = faplink("provision", "enroll", "--data", str(kiosk), "--bundle", str(forged), "--force")
    assert refused.returncode == 1 and "другим ключом центра" in refused.stderr
    assert (kiosk / "node.json").exists()
