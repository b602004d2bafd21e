"""The scaled central: real PostgreSQL and Redis on this machine, a fresh database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from tests.helpers.scaled import PG_ADMIN, REDIS_URL, GatewayCentral, TwoCentrals


def _admin() -> psycopg2.extensions.connection:
    conn = psycopg2.connect(PG_ADMIN)
    conn.autocommit = True
    return conn


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    name = f"faplink_test_{uuid.uuid4().hex[:10]}"
    conn = _admin()
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    conn = _admin()
    with conn.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    conn.close()


@pytest.fixture
def two_centrals(tmp_path: Path, pg_url: str) -> Iterator[TwoCentrals]:
    """Seed PostgreSQL, then run two `faplink central run --server gunicorn` processes sharing
    it and Redis, as a scaled central runs in production."""
    from faplink.demo_seed import seed
    from runtime.processes import faplink_command, start, stop, wait_http
    from sync.db import CENTRAL, bind_replica, database, open_database_url
    from sync.migrations import migrate
    from sync.state import CENTRAL_MIGRATIONS
    from tests.helpers.ports import free_port

    db = open_database_url(pg_url)
    migrate(db, CENTRAL_MIGRATIONS)
    bind_replica(CENTRAL)
    data = seed(days=2, weekends=True)
    database.close()

    shared = tmp_path / "central"  # blobs and the session key: shared storage in production
    env = {"FAPLINK_MESSAGE_QUEUE": REDIS_URL}
    ports = [free_port(), free_port()]
    procs = [
        start(
            faplink_command(
                "central",
                "run",
                "--server",
                "gunicorn",
                "--port",
                str(p),
                "--data",
                str(shared),
                "--database-url",
                pg_url,
            ),
            tmp_path / f"central-{p}.log",
            env=env,
        )
        for p in ports
    ]
    try:
        for p, proc in zip(ports, procs, strict=True):
            wait_http(f"http://127.0.0.1:{p}/login", process=proc)
        yield TwoCentrals([f"http://127.0.0.1:{p}" for p in ports], data, pg_url, tmp_path)
    finally:
        for proc in procs:
            stop(proc)


@pytest.fixture
def gateway_central(tmp_path: Path, pg_url: str) -> Iterator[GatewayCentral]:
    """`faplink central run --workers 2` on a new, empty PostgreSQL database (the instance
    migrates it), then seeded like the demo."""
    from faplink.demo_seed import seed
    from runtime.processes import faplink_command, start, stop, wait_http
    from sync.changes import latest_stamp
    from sync.db import CENTRAL, bind_replica, database, open_database_url
    from tests.helpers.ports import free_port

    port = free_port()
    proc = start(
        faplink_command(
            "central", "run", "--workers", "2", "--port", str(port),
            "--data", str(tmp_path / "central"), "--database-url", pg_url,
        ),
        tmp_path / "central.log",
        env={"FAPLINK_MESSAGE_QUEUE": REDIS_URL},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/login", timeout=90, process=proc)
        open_database_url(pg_url)
        bind_replica(CENTRAL, latest_stamp())
        data = seed(days=2, weekends=True)
        database.close()
        yield GatewayCentral(url, data, pg_url, tmp_path)
    finally:
        stop(proc, timeout=30)
