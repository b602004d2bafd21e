"""Running `faplink` commands and peeking into a running central's database, for provisioning tests."""

from __future__ import annotations

import html
import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from runtime.processes import faplink_command
from tests.helpers.cluster import ApiClient, Cluster


def faplink(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        faplink_command(*args), capture_output=True, text=True, timeout=timeout, env=env, input=input
    )


def central_dir(cluster: Cluster) -> str:
    return str(cluster.plan["central"]["dir"])  # type: ignore[index]


def post_id(cluster: Cluster, index: int = 0) -> str:
    node_json = Path(cluster.plan["posts"][index]["dir"]) / "node.json"  # type: ignore[index]
    return str(json.loads(node_json.read_text())["organization_id"])


def issue_token(cluster: Cluster, *extra: str) -> str:
    done = faplink(
        "central", "issue-token", "--data", central_dir(cluster), "--organization", post_id(cluster), *extra
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def central_rows(cluster: Cluster, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read central's SQLite database directly (central keeps running)."""
    conn = sqlite3.connect(f"file:{Path(central_dir(cluster)) / 'central.db'}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def fleet_page(admin: ApiClient) -> str:
    response = admin.get("/fleet/")
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def opened_env(data_dir: Path, login: str = "fap1", password: str = "demo1234") -> dict[str, str]:
    """The environment of a `faplink` command on an enrolled kiosk's encrypted data: the key its
    feldsher's login opens, in a key file beside the directory (as a kiosk's TPM would give it)."""
    from node.datakey import unlock_with_password

    key = unlock_with_password(data_dir, login, password)
    assert key is not None, f"{login}'s password does not open {data_dir}"
    key_file = data_dir.with_name(data_dir.name + ".key")
    key_file.write_text(key.raw.hex())
    return {**os.environ, "FAPLINK_DATA_KEY_FILE": str(key_file)}


def sync_once(data_dir: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = faplink("node", "sync", "--data", str(data_dir), "--once", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))
