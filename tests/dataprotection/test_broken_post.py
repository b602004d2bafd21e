"""A post whose files are broken refuses to start and says, in one line, what to do; it never
builds an empty database over its records. Real files on disk, real `faplink` processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from domain.models import Patient
from node import create_app
from node.datakey import DataKey
from node.identity import NodeIdentity
from node.keyring import refresh_keyring
from node.nodekey import SEALED_HEADER
from runtime.processes import faplink_command, start, stop, wait_http
from sync.db import connect_file, database
from sync.request_signing import NodeKey
from tests.helpers.data import TEST_DATA_KEY
from tests.helpers.ports import free_port
from tests.helpers.web import login

KEY = DataKey.from_hex(TEST_DATA_KEY)
Damage = Callable[[Path], None]


@pytest.fixture
def post(node_app, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Post 1's data directory as a kiosk leaves it, with its data key in a key file beside it
    (as the TPM would give it), and nothing of it open in this process."""
    app, _data = node_app
    refresh_keyring(app)  # the feldshers' logins open it, as after the first pull
    data_dir = Path(app.config["DATA_DIR"])
    database.close()
    (tmp_path / "data.key").write_text(TEST_DATA_KEY)
    return data_dir


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "FAPLINK_DATA_KEY_FILE": str(tmp_path / "data.key"), **extra}


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(faplink_command(*args), capture_output=True, text=True, env=env, timeout=120)


def _refused(data_dir: Path, env: dict[str, str], says: str) -> None:
    """`node run` exits 1 with one line that says `says`; `node check` fails on the same words."""
    run = _run("node", "run", "--port", str(free_port()), "--data", str(data_dir), env=env)
    assert run.returncode == 1, run.stderr[-2000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    [line] = [line for line in run.stderr.splitlines() if line.startswith("Error: ")]
    assert says in line, run.stderr[-2000:]
    assert "faplink provision restore" in line and "faplink provision enroll --force" in line
    check = _run("node", "check", "--data", str(data_dir), "--offline", "--no-devices", env=env)
    assert check.returncode == 1, check.stdout
    assert "Traceback" not in check.stdout + check.stderr, check.stderr[-3000:]
    assert says in check.stdout, check.stdout


def _write(name: str, data: bytes) -> Damage:
    return lambda data_dir: (data_dir / name).write_bytes(data)


def _remove(name: str) -> Damage:
    return lambda data_dir: (data_dir / name).unlink()


def _cut_in_half(data_dir: Path) -> None:
    path = data_dir / "node.db"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


BROKEN: dict[str, tuple[Damage, str]] = {
    "node.json garbage": (_write("node.json", b'{"node_id": "test-po'), "Файл регистрации киоска"),
    "node.key missing": (_remove("node.key"), "Нет ключа киоска"),
    "node.key garbage": (_write("node.key", os.urandom(300)), "Ключ киоска"),
    "node.db missing": (_remove("node.db"), "Нет базы данных киоска"),
    "node.db empty": (_write("node.db", b""), "пуста (0 байт)"),
    "node.db garbage": (_write("node.db", os.urandom(64 * 1024)), "повреждена или не открывается"),
    "node.db cut short": (_cut_in_half, "повреждена или не открывается"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_file_is_refused_in_one_line_with_what_to_do(post: Path, tmp_path: Path, case: str) -> None:
    damage, says = BROKEN[case]
    damage(post)
    _refused(post, _env(tmp_path), says)


def test_a_lost_wal_is_found_by_the_mark_and_refused_everywhere(post: Path, tmp_path: Path) -> None:
    """A crash with records only in the -wal, then the -wal lost: node.db alone opens without
    them, and the mark beside it says so."""
    app = create_app({"DATA_DIR": post, "SYNC_ENABLED": False, "TESTING": True, "DATA_KEY": TEST_DATA_KEY})
    holder = connect_file(post / "node.db", KEY.database_key)  # keeps the -wal from being checkpointed
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    client = app.test_client()
    token = login(client, "fap1")
    created = client.post(
        "/api/v1/patients",
        json={
            "last_name": "Последняя",
            "first_name": "Запись",
            "birth_date": "1970-01-01",
            "sex": "female",
            "phone": "+79160001122",
        },
        headers={"X-CSRF-Token": token},
    )
    assert created.status_code == 201, created.get_json()
    crashed = tmp_path / "crashed"
    shutil.copytree(post, crashed, ignore=shutil.ignore_patterns("node.db-wal", "node.db-shm", "node.lock"))
    holder.close()
    database.close()

    _refused(crashed, _env(tmp_path), "неполна")
    # In English where the engineer's terminal is.
    env = _env(tmp_path, LANG="en_US.UTF-8", LC_ALL="", LC_MESSAGES="")
    english = _run("node", "run", "--port", str(free_port()), "--data", str(crashed), env=env)
    assert english.returncode == 1 and "is incomplete" in english.stderr, english.stderr[-2000:]

    # A kiosk without a TPM: the feldsher's login opens the key, and the login page says it.
    locked = create_app({"DATA_DIR": crashed, "SYNC_ENABLED": False, "TESTING": True})
    answer = locked.test_client().post("/api/v1/session", json={"login": "fap1", "password": "demo1234"})
    assert answer.status_code == 503 and "неполна" in answer.get_json()["message"]
    assert "node_app" not in locked.extensions  # nothing was built over it
    opened = create_app({"DATA_DIR": post, "SYNC_ENABLED": False, "TESTING": True, "DATA_KEY": TEST_DATA_KEY})
    with opened.app_context():
        assert Patient.select().where(Patient.last_name == "Последняя").count() == 1  # the original is whole
    database.close()


def test_a_post_enrolled_but_never_started_starts_and_seals_its_key(tmp_path: Path) -> None:
    identity = NodeIdentity("fresh-post", "post-x", "http://127.0.0.1:9", tmp_path / "fresh")
    NodeKey.generate().save(identity.key_path)  # `faplink node enroll` has no data key yet
    identity.save()
    (tmp_path / "data.key").write_text(TEST_DATA_KEY)
    port = free_port()
    env = {"FAPLINK_SYNC_ENABLED": "false", "FAPLINK_DATA_KEY_FILE": str(tmp_path / "data.key")}
    process = start(
        faplink_command("node", "run", "--port", str(port), "--data", str(identity.data_dir)),
        tmp_path / "node.log",
        env,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/login", timeout=60, process=process)
    finally:
        stop(process)
    assert identity.key_path.read_bytes().startswith(SEALED_HEADER)
    assert (identity.data_dir / "node.db").stat().st_size > 0
    assert (identity.data_dir / "node.db.mark").is_file()


def test_the_kiosk_window_shows_the_nodes_one_line(post: Path, tmp_path: Path) -> None:
    """`faplink kiosk` starts the node, which refuses a damaged key: the window's engineer
    details and the kiosk's own log carry the node's one line, and no traceback."""
    (post / "node.key").write_bytes(os.urandom(300))
    env = _env(tmp_path, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))  # no screen here: Qt off screen
    kiosk = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk_ui.cli",
            "--data",
            str(post),
            "--port",
            str(free_port()),
            "--self-test",
            "60",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    [report] = [json.loads(line) for line in kiosk.stdout.splitlines() if line.startswith("{")]
    assert kiosk.returncode == 2, kiosk.stderr[-3000:]  # the kiosk's own code for «the node did not start»
    assert report["heading"] == "Не удалось запустить рабочее место"
    assert "Traceback" not in kiosk.stderr, kiosk.stderr[-3000:]
    [said] = [line for line in kiosk.stderr.splitlines() if "node not available" in line]
    assert "Ключ киоска" in said and "повреждён" in said and "faplink provision restore" in said
    assert "Traceback" not in (post / "logs" / "node.log").read_text()
