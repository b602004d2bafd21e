"""A field engineer enrols a kiosk against a running central with a one-time code."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from node.datakey import unlock_with_password
from provisioning.recovery import recover_data_key
from sync.db import connect_file
from tests.helpers.cluster import ApiClient, Cluster
from tests.helpers.provisioning import (
    central_dir,
    central_rows,
    faplink,
    fleet_page,
    issue_token,
    opened_env,
    post_id,
)

KIOSK = "kiosk-mednoe-2"


@pytest.fixture
def cluster(tmp_path: Path):  # type: ignore[no-untyped-def]
    cluster = Cluster(tmp_path, sync_interval=3600)
    cluster.start_central()
    yield cluster
    cluster.stop_all()


def _enrol(cluster: Cluster, data: Path, token: str, *extra: str):  # type: ignore[no-untyped-def]
    return faplink(
        "provision", "enroll", "--data", str(data), "--central", cluster.central_url, "--token", token, *extra
    )


def test_enrol_sync_appear_on_the_fleet_page_and_refuse_a_second_use(
    cluster: Cluster, tmp_path: Path
) -> None:
    token = issue_token(cluster)
    kiosk = tmp_path / "kiosk"
    done = _enrol(cluster, kiosk, token, "--node-id", KIOSK)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Киоск зарегистрирован" in done.stdout
    assert "Петрова А.И. (fap1)" in done.stdout  # the post's feldsher can log in offline now
    assert "первая синхронизация завершена" in done.stdout
    assert "Самопроверка пройдена" in done.stdout
    assert re.search(r"Первая синхронизация \[#+\] (\d+)/\1 записей", done.stderr), done.stderr[-2000:]
    # The post's data is encrypted; the feldsher's password (wrapped in keyring.json) opens it.
    assert (kiosk / "node.db").read_bytes()[:16] != b"SQLite format 3\x00"
    key = unlock_with_password(kiosk, "fap1", "demo1234")
    assert key is not None and unlock_with_password(kiosk, "fap1", "wrong") is None
    # ... and central's recovery key, whose public half the kiosk fetched at enrolment.
    assert recover_data_key(Path(central_dir(cluster)), kiosk / "keyring.json") == key
    conn = connect_file(kiosk / "node.db", key.database_key)
    assert conn.execute("SELECT count(*) FROM staff_credential WHERE login = 'fap1'").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM staff_credential WHERE login = 'fap2'").fetchone() == (0,)
    conn.close()

    admin = ApiClient(cluster.central_url, "admin")
    page = fleet_page(admin)
    row = page[page.index(f'id="node-{KIOSK}"') :]
    row = row[: row.index("</tr>")]
    assert "ФАП д. Медное" in row and "пройдена" in row and "ещё не был" not in row

    again = _enrol(cluster, tmp_path / "other", token)
    assert again.returncode == 1 and "Код регистрации уже использован" in again.stderr
    assert not (tmp_path / "other" / "node.json").exists()
    rerun = _enrol(cluster, kiosk, issue_token(cluster))
    assert rerun.returncode == 1 and "уже зарегистрирован" in rerun.stderr and "--force" in rerun.stderr


def test_expired_and_revoked_codes_are_refused_with_a_clear_message(cluster: Cluster, tmp_path: Path) -> None:
    spent = issue_token(cluster, "--hours", "0")  # valid for no time at all: expired once issued
    expired = _enrol(cluster, tmp_path / "a", spent)
    assert expired.returncode == 1 and "Срок действия кода регистрации истёк" in expired.stderr

    admin = ApiClient(cluster.central_url, "admin")
    issued = admin.post("/fleet/tokens", data={"organization": post_id(cluster), "hours": "24"}).text
    token = re.search(r'<code class="token">([^<]+)</code>', issued).group(1)  # type: ignore[union-attr]
    admin.post(f"/fleet/tokens/{hashlib.sha256(token.encode()).hexdigest()}/revoke")
    revoked = _enrol(cluster, tmp_path / "b", token)
    assert revoked.returncode == 1 and "Код регистрации отозван администратором" in revoked.stderr
    assert not any((tmp_path / d / "node.json").exists() for d in ("a", "b"))


def test_a_revoked_kiosk_is_refused_and_force_reenrols_it_with_a_new_key(
    cluster: Cluster, tmp_path: Path
) -> None:
    kiosk = tmp_path / "kiosk"
    assert _enrol(cluster, kiosk, issue_token(cluster), "--node-id", KIOSK).returncode == 0
    admin = ApiClient(cluster.central_url, "admin")
    assert admin.post(f"/fleet/nodes/{KIOSK}/revoke").status_code == 200

    refused = faplink("node", "sync", "--data", str(kiosk), "--once", env=opened_env(kiosk))
    assert refused.returncode != 0 and "позвоните в техническую поддержку" in refused.stderr
    assert '"state": "revoked"' in (kiosk / "sync-status.json").read_text().replace('":"', '": "')
    check = faplink("provision", "check", "--data", str(kiosk), "--no-devices", env=opened_env(kiosk))
    assert check.returncode == 1 and "доступ киоска к центру отозван" in check.stdout

    forced = _enrol(cluster, kiosk, issue_token(cluster), "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    new_id = re.search(r"Киоск:\s+(\S+)", forced.stdout).group(1)  # type: ignore[union-attr]
    assert new_id != KIOSK and "Прежние данные:   перенесены в" in forced.stdout
    assert list(tmp_path.glob("kiosk.replaced-*/node.db"))
    rows = dict(
        central_rows(
            cluster, "SELECT node_id, revoked FROM known_node WHERE node_id IN (?, ?)", KIOSK, new_id
        )
    )
    assert rows == {KIOSK: 1, new_id: 0}
