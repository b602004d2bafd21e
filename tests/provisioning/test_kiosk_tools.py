"""The engineer's tools on one kiosk: self-test, diagnostics, backup and restore, autostart units."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from domain.models import Patient
from node.datakey import DataKey
from provisioning.backup import backup, restore
from provisioning.cli import provision
from provisioning.diagnose import diagnose
from provisioning.errors import BackupError
from provisioning.layout import NodeDir
from sync.db import connect_file
from tests.helpers.data import TEST_DATA_KEY


def _node_dir(node_app) -> NodeDir:  # type: ignore[no-untyped-def]
    app, _ = node_app
    nd = NodeDir(Path(app.config["DATA_DIR"]))
    nd.remember_key(DataKey.from_hex(TEST_DATA_KEY))  # as the engineer's login would open it
    return nd


def test_install_kiosk_writes_units_that_boot_into_faplink(tmp_path: Path) -> None:
    args = ["install-kiosk", "--root", str(tmp_path), "--data", "/srv/faplink/node", "--port", "8801"]
    result = CliRunner().invoke(
        provision, [*args, "--user", "kiosk", "--faplink", "/opt/faplink/bin/faplink"]
    )
    assert result.exit_code == 0, result.output
    units = tmp_path / "etc" / "systemd" / "system"
    node = (units / "faplink-node.service").read_text()
    assert "ExecStart=/opt/faplink/bin/faplink node run --port 8801 --data /srv/faplink/node" in node
    assert "Restart=on-failure" in node and "User=kiosk" in node and "SupplementaryGroups=dialout" in node
    assert "WantedBy=multi-user.target" in node
    kiosk = (units / "faplink-kiosk.service").read_text()
    assert (
        "ExecStart=/usr/bin/cage -s -- /opt/faplink/bin/faplink kiosk --url http://127.0.0.1:8801/ "
        "--data /srv/faplink/node --no-start\n" in kiosk
    )
    assert "Requires=faplink-node.service" in kiosk and "After=faplink-node.service" in kiosk
    assert "Restart=on-failure" in kiosk and "User=kiosk" in kiosk and "PAMName=login" in kiosk
    assert "WantedBy=graphical.target" in kiosk and "Before=graphical.target" in kiosk
    users = (tmp_path / "etc" / "sysusers.d" / "faplink.conf").read_text()
    assert 'u kiosk - "faplink kiosk" /srv/faplink' in users and "m kiosk dialout" in users
    dirs = (tmp_path / "etc" / "tmpfiles.d" / "faplink.conf").read_text()
    assert "d /srv/faplink 0700 kiosk kiosk -" in dirs
    # The post's data key sealed by the TPM, if enrolment made one; else a login opens the data.
    assert "LoadCredentialEncrypted=faplink-data-key:/srv/faplink/node/data-key.cred" in node
    assert "SetCredential=faplink-data-key:none" in node
    assert "systemctl enable faplink-node.service faplink-kiosk.service" in result.output
    # The scratch root has no cage: a kiosk installed like this would boot to a blank screen.
    assert "не установлен cage" in result.output and "apt-get install cage" in result.output


def test_install_kiosk_says_nothing_of_cage_where_it_is_installed(tmp_path: Path) -> None:
    cage = tmp_path / "usr" / "bin" / "cage"
    cage.parent.mkdir(parents=True)
    cage.write_text("#!/bin/sh\n")
    result = CliRunner().invoke(provision, ["install-kiosk", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "не установлен" not in result.output and "apt-get install" not in result.output
    assert (tmp_path / "etc" / "systemd" / "system" / "faplink-kiosk.service").exists()


def test_install_kiosk_enable_refuses_a_scratch_root_before_writing(tmp_path: Path) -> None:
    result = CliRunner().invoke(provision, ["install-kiosk", "--root", str(tmp_path), "--enable"])
    assert result.exit_code == 2 and "--enable только вместе с --root /" in result.output
    assert not (tmp_path / "etc").exists()


def test_the_self_test_prints_json_and_passes_offline(node_app) -> None:  # type: ignore[no-untyped-def]
    nd = _node_dir(node_app)
    result = CliRunner().invoke(
        provision, ["check", "--data", str(nd.root), "--json", "--offline", "--no-devices"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses["database"] == statuses["key"] == statuses["data_dir"] == "ok"
    assert statuses["central"] == "skip"
    assert report["ok"] is True
    assert json.loads(nd.selftest_file.read_text())["checks"] == report["checks"]
    status = CliRunner().invoke(provision, ["status", "--data", str(nd.root)])
    assert status.exit_code == 0, status.output
    assert "Киоск test-post-1 — ФАП д. Медное" in status.output
    assert "Очередь: записей 0 (экстренных 0)" in status.output
    assert "ОК  Целостность базы данных" in status.output


def test_the_self_test_fails_on_a_broken_database(node_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = _node_dir(node_app)
    broken = NodeDir(tmp_path / "broken")
    broken.root.mkdir()
    for name in ("node.json", "node.key"):
        (broken.root / name).write_bytes((source.root / name).read_bytes())
    broken.database.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    result = CliRunner().invoke(provision, ["check", "--data", str(broken.root), "--offline", "--no-devices"])
    assert result.exit_code == 1
    assert "XX  Целостность базы данных" in result.output and "Самопроверка НЕ пройдена" in result.output


def test_diagnostics_hold_no_patient_data_or_secrets(node_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    nd = _node_dir(node_app)
    patient = Patient.get(Patient.last_name == "Кузьмин")
    log = tmp_path / "node.log"
    log.write_text(
        f"ERROR while saving {patient.last_name} {patient.first_name} {patient.middle_name}, "
        f"СНИЛС {patient.snils}, тел. {patient.phone}, полис {patient.enp}\nsync state idle -> offline\n"
    )
    out = tmp_path / "diag.tar.gz"
    names = diagnose(nd, out, logs=[log], journal_since=None, online=False)
    assert {"status.json", "selftest.json", "database.json", "logs/node.log"} <= set(names)
    with tarfile.open(out) as tar:
        texts = {m.name: tar.extractfile(m).read().decode() for m in tar if m.isfile()}  # type: ignore[union-attr]
    everything = "\n".join(texts.values())
    secret = (nd.root / "secret_key").read_text().strip()
    phone = str(patient.phone)
    for leak in (patient.last_name, patient.snils, phone, phone[2:], secret, "PRIVATE KEY"):
        assert leak and leak not in everything, leak
    assert "[ФИО]" in texts["faplink-diagnose/logs/node.log"]
    assert "sync state idle -> offline" in texts["faplink-diagnose/logs/node.log"]
    shape = json.loads(texts["faplink-diagnose/database.json"])
    assert shape["rows"]["patient"] >= 1


def _counts(path: Path) -> dict[str, int]:
    conn = connect_file(path, DataKey.from_hex(TEST_DATA_KEY).database_key)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def test_backup_while_open_then_restore_gives_the_same_kiosk(node_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    nd = _node_dir(node_app)
    (nd.blobs / "ab").mkdir(parents=True, exist_ok=True)
    blob = nd.blobs / "ab" / ("ab" + "0" * 62)
    blob.write_bytes(b"ECG")
    info = backup(nd, tmp_path / "kiosk.tar.gz")
    assert info.blobs == 1 and (tmp_path / "kiosk.tar.gz").stat().st_mode & 0o777 == 0o600
    restored = NodeDir(tmp_path / "restored")
    restore(tmp_path / "kiosk.tar.gz", restored, lambda root: DataKey.from_hex(TEST_DATA_KEY))
    before, after = _counts(nd.database), _counts(restored.database)
    assert after["access_entry"] == before["access_entry"] + 1  # the restore is a row of the journal
    assert {t: n for t, n in after.items() if not t.startswith("access_")} == {
        t: n for t, n in before.items() if not t.startswith("access_")
    }
    assert restored.identity().node_id == nd.identity().node_id
    assert (restored.key_file.read_bytes(), restored.key_file.stat().st_mode & 0o777) == (
        nd.key_file.read_bytes(),
        0o600,
    )
    assert (restored.blobs / "ab" / blob.name).read_bytes() == b"ECG"
    with pytest.raises(BackupError, match="не пуст"):
        restore(tmp_path / "kiosk.tar.gz", restored)


def test_a_damaged_backup_is_refused_and_leaves_the_target_empty(node_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    nd = _node_dir(node_app)
    backup(nd, tmp_path / "kiosk.tar.gz")
    raw = bytearray(gzip.decompress((tmp_path / "kiosk.tar.gz").read_bytes()))
    with tarfile.open(tmp_path / "kiosk.tar.gz") as tar:
        at = tar.getmember("node.db").offset_data + 4096 + 100  # inside the database's second page
    raw[at] ^= 0xFF
    (tmp_path / "damaged.tar.gz").write_bytes(gzip.compress(bytes(raw)))
    target = NodeDir(tmp_path / "target")
    with pytest.raises(BackupError, match="не совпадает с описью"):
        restore(tmp_path / "damaged.tar.gz", target)
    assert list(target.root.iterdir()) == []
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(BackupError, match="Не удалось прочитать"):
        restore(tmp_path / "junk.tar.gz", target)


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    # systemd and cage come with `make test` (Makefile: system-deps), as on a kiosk.
    assert shutil.which("systemd-analyze") and shutil.which("cage"), "install systemd and cage"
    args = ["install-kiosk", "--root", str(tmp_path), "--faplink", "/bin/true"]
    result = CliRunner().invoke(provision, args)
    assert result.exit_code == 0, result.output
    units = tmp_path / "etc" / "systemd" / "system"
    verify = subprocess.run(
        ["systemd-analyze", "verify", *(str(units / f"faplink-{n}.service") for n in ("node", "kiosk"))],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0 and verify.stderr.strip() == "", verify.stderr
    users = subprocess.run(
        [
            "systemd-sysusers",
            "--dry-run",
            f"--root={tmp_path}",
            str(tmp_path / "etc" / "sysusers.d" / "faplink.conf"),
        ],
        capture_output=True,
        text=True,
    )
    assert users.returncode == 0 and "Creating user 'faplink'" in users.stdout + users.stderr, users.stderr
