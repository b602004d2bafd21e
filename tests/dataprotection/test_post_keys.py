"""The post's data key (152-ФЗ): a feldsher's password opens the post, a wrong one opens nothing;
central's recovery key opens a post whose feldshers left; the TPM keeps it where there is one."""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from domain.models import Patient
from node import create_app
from node.datakey import (
    CREDENTIAL_NAME,
    NO_SEALED_KEY,
    SEALED_KEY_FILE,
    DataKey,
    find_data_key,
    keyring_logins,
    may_start_afresh,
    read_keyring,
    start_afresh,
    tpm_available,
    unlock_with_password,
    wrap_for_recovery,
)
from node.keyring import refresh_keyring
from node.locked import is_locked
from provisioning.cli import provision
from provisioning.layout import NodeDir
from provisioning.recovery import protect_key, recovery_public_hex
from sync.db import database
from tests.helpers.data import TEST_DATA_KEY

KEY = DataKey.from_hex(TEST_DATA_KEY)


def _data_dir(node_app) -> Path:  # type: ignore[no-untyped-def]
    """The post's directory, its keyring as after the first pull (the fixture applies it by hand)."""
    app, _ = node_app
    refresh_keyring(app)
    return Path(app.config["DATA_DIR"])


def test_the_feldshers_password_opens_the_post_and_a_wrong_one_opens_nothing(node_app) -> None:  # type: ignore[no-untyped-def]
    data_dir = _data_dir(node_app)
    assert keyring_logins(data_dir) >= 1  # the post's feldshers, as their credentials synced
    assert "fap1" not in (data_dir / "keyring.json").read_text()  # logins are not written out
    assert unlock_with_password(data_dir, "fap1", "demo1234") == KEY
    assert unlock_with_password(data_dir, "fap1", "demo12345") is None
    assert unlock_with_password(data_dir, "nobody", "demo1234") is None
    assert unlock_with_password(data_dir, "ivanova", "demo1234") is None  # a consultant, not of the post
    database.close()

    # After a reboot with no TPM: the login page only, until a feldsher logs in.
    locked = create_app({"DATA_DIR": data_dir, "SYNC_ENABLED": False, "TESTING": True})
    assert is_locked(locked)
    client = locked.test_client()
    assert client.get("/patients/").headers["Location"].startswith("/login")
    page = client.get("/login")
    assert page.status_code == 200 and "Данные ФАП зашифрованы" in page.get_data(as_text=True)
    assert client.get("/api/v1/patients").status_code == 503
    wrong = client.post("/login", data={"login": "fap1", "password": "demo12345"})
    assert wrong.status_code == 401 and "Неверный логин или пароль" in wrong.get_data(as_text=True)
    assert client.post("/api/v1/session", json={"login": "fap1", "password": "x"}).status_code == 401
    assert is_locked(locked)

    opened = client.post("/api/v1/session", json={"login": "fap1", "password": "demo1234"})
    assert opened.status_code == 200, opened.get_json()  # the same request logs the feldsher in
    assert not is_locked(locked)
    node = locked.extensions["node_app"]
    assert node.extensions["data_key"] == KEY and "sync_worker" in node.extensions
    token = opened.get_json()["csrf_token"]
    found = client.get("/api/v1/patients", query_string={"q": "Кузьмин"}, headers={"X-CSRF-Token": token})
    assert found.status_code == 200 and found.get_json()["patients"]
    assert Patient.select().count() > 0


def test_central_recovers_the_key_of_a_post_whose_feldshers_left(node_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir = _data_dir(node_app)
    central = tmp_path / "central"
    node_id = read_keyring(data_dir)["node_id"]
    wrap_for_recovery(data_dir, KEY, node_id, recovery_public_hex(central))  # made at enrolment
    assert stat.S_IMODE((central / "recovery.key").stat().st_mode) == 0o600
    keyring = tmp_path / "usb" / "keyring.json"  # the engineer carries it to central
    keyring.parent.mkdir()
    keyring.write_bytes((data_dir / "keyring.json").read_bytes())
    runner = CliRunner()

    other = runner.invoke(
        provision,
        [
            "recover-key",
            "--data",
            str(tmp_path / "other-centre"),
            "--keyring",
            str(keyring),
            "--out",
            str(tmp_path / "x"),
        ],
    )
    assert other.exit_code == 1 and "не восстановить" in other.output
    out = tmp_path / "usb" / "post.key"
    done = runner.invoke(
        provision, ["recover-key", "--data", str(central), "--keyring", str(keyring), "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert out.read_text() == TEST_DATA_KEY and stat.S_IMODE(out.stat().st_mode) == 0o600
    database.close()

    bad = tmp_path / "bad.key"
    bad.write_text("00" * 32)
    refused = runner.invoke(
        provision, ["recover", "--data", str(data_dir), "--key-file", str(bad), "--offline"]
    )
    assert refused.exit_code == 1 and "не открывает данные киоска" in refused.output
    recovered = runner.invoke(
        provision, ["recover", "--data", str(data_dir), "--key-file", str(out), "--offline"]
    )
    assert recovered.exit_code == 0, recovered.output
    assert "открыты ключом центра" in recovered.output and "shred -u" in recovered.output
    assert NodeDir(data_dir).data_key() == KEY


def _fake_systemd_creds(bin_dir: Path, has_tpm: bool) -> Path:
    """A stand-in for systemd-creds that "seals" by wrapping the input in a marker (no TPM here):
    it checks the arguments faplink passes and keeps what it was given."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "systemd-creds"
    script.write_text(
        f"""#!/bin/sh
log="{bin_dir}/calls"
echo "$@" >> "$log"
case "$1" in
  has-tpm2) exit {0 if has_tpm else 1} ;;
  encrypt) [ "$2" = "--with-key=tpm2" ] && [ "$3" = "--name={CREDENTIAL_NAME}" ] || exit 2
           {{ printf 'SEALED:'; cat; }} > "$5" ;;
  decrypt) [ "$2" = "--name={CREDENTIAL_NAME}" ] || exit 2
           sed 's/^SEALED://' "$3" ;;
esac
"""
    )
    script.chmod(0o755)
    return bin_dir


def test_the_tpm_seals_the_key_where_there_is_one_and_the_keyring_serves_where_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAPLINK_DATA_KEY_FILE", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    if not any(Path("/dev").glob("tpm*")):  # this machine: systemd-creds finds no TPM 2.0
        assert not tpm_available()
        plain = NodeDir(tmp_path / "no-tpm")
        plain.root.mkdir()
        assert protect_key(plain, KEY, "kiosk-1") == "keyring"
        assert not (plain.root / SEALED_KEY_FILE).exists()

    without = _fake_systemd_creds(tmp_path / "without", has_tpm=False)
    monkeypatch.setenv("PATH", f"{without}{os.pathsep}{os.environ['PATH']}")
    assert not tpm_available()

    with_tpm = _fake_systemd_creds(tmp_path / "with", has_tpm=True)
    monkeypatch.setenv("PATH", f"{with_tpm}{os.pathsep}{os.environ['PATH']}")
    assert tpm_available()
    nd = NodeDir(tmp_path / "kiosk")
    nd.root.mkdir()
    assert protect_key(nd, KEY, "kiosk-1") == "tpm"
    sealed = nd.root / SEALED_KEY_FILE
    assert sealed.is_file() and stat.S_IMODE(sealed.stat().st_mode) == 0o600
    assert find_data_key(nd.root) == KEY  # the engineer's tools (root) unseal it themselves

    # The service gets it from systemd as a credential; the unit's default "none" means: no TPM.
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / CREDENTIAL_NAME).write_text(NO_SEALED_KEY)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    sealed.unlink()
    assert find_data_key(nd.root) is None
    (creds / CREDENTIAL_NAME).write_text(KEY.raw.hex())
    assert find_data_key(nd.root) == KEY


def test_a_backup_holds_no_key_in_the_clear_and_opens_with_a_feldshers_login(
    node_app, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data_dir = _data_dir(node_app)
    patient = Patient.get(Patient.last_name == "Кузьмин")
    runner = CliRunner()
    archive = tmp_path / "usb" / "kiosk.tar.gz"
    made = runner.invoke(
        provision, ["backup", "--data", str(data_dir), "--out", str(archive)], input="fap1\ndemo1234\n"
    )
    assert made.exit_code == 0, made.output
    raw = gzip.decompress(archive.read_bytes())
    node_key = (data_dir / "node.key").read_bytes()
    secret = (data_dir / "secret_key").read_bytes()
    for leak in (node_key, b"PRIVATE KEY", secret, TEST_DATA_KEY.encode(), b"SQLite format 3"):
        assert leak not in raw
    for text in (patient.last_name, patient.first_name, str(patient.snils)):
        assert text.encode() not in raw, text
    database.close()

    target = tmp_path / "new-machine"
    wrong = runner.invoke(
        provision, ["restore", "--from", str(archive), "--data", str(target)], input="fap1\nwrong\n"
    )
    assert wrong.exit_code == 1 and "Неверный логин или пароль" in wrong.output
    assert list(target.iterdir()) == []
    restored = runner.invoke(
        provision, ["restore", "--from", str(archive), "--data", str(target)], input="fap1\ndemo1234\n"
    )
    assert restored.exit_code == 0, restored.output
    assert (target / "node.key").read_bytes() == node_key
    assert stat.S_IMODE((target / "node.key").stat().st_mode) == 0o600
    assert not list(target.glob("*.sealed"))
    node = create_app({"DATA_DIR": target, "SYNC_ENABLED": False, "TESTING": True, "DATA_KEY": KEY.raw})
    with node.app_context():
        assert Patient.get_by_id(patient.id).snils == patient.snils


def test_only_a_post_no_one_ever_opened_starts_afresh_and_nothing_is_deleted(
    node_app, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data_dir = _data_dir(node_app)  # feldshers' logins have opened it: it never starts afresh
    database.close()
    assert not may_start_afresh(data_dir)
    keyring = (data_dir / "keyring.json").read_text()
    (data_dir / "keyring.json").write_text("{not json")  # a damaged keyring says nothing: locked
    assert not may_start_afresh(data_dir)
    (data_dir / "keyring.json").unlink()
    assert not may_start_afresh(data_dir)
    (data_dir / "keyring.json").write_text(keyring)

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert may_start_afresh(fresh)  # enrolled, never started
    first = start_afresh(fresh, "kiosk-new")
    (fresh / "node.db").write_bytes(os.urandom(4096))  # what that key sealed, the key then lost
    assert may_start_afresh(fresh)  # still nobody's login: nothing recorded there
    second = start_afresh(fresh, "kiosk-new")
    assert second != first and not (fresh / "node.db").exists()
    [aside] = fresh.glob("unopened-*")
    assert (aside / "node.db").is_file()  # moved aside, not deleted


def test_guessing_at_the_locked_login_page_slows_down(node_app, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    data_dir = _data_dir(node_app)
    database.close()
    waits: list[float] = []
    monkeypatch.setattr("node.locked.time.sleep", waits.append)
    client = create_app({"DATA_DIR": data_dir, "SYNC_ENABLED": False, "TESTING": True}).test_client()
    for _ in range(7):
        assert client.post("/login", data={"login": "fap1", "password": "guess"}).status_code == 401
    assert waits == [1, 2]  # five free tries, then each waits twice as long as the last
