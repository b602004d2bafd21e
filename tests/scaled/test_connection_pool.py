"""central on PostgreSQL keeps a pool of connections: requests reuse a handful of server
processes instead of starting one each, and a burst beyond the pool waits its turn."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from flask import Flask

from sync.db import database
from tests.helpers.scaled import PG_ADMIN
from tests.helpers.timing import wait_until


class _Requests:
    """Requests to the app, each in its own thread as the server's threads run them."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.answers: list[tuple[int, str]] = []
        self.holding = 0
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def start(self, path: str) -> None:
        def one() -> None:
            response = self.app.test_client().get(path)
            with self._lock:
                self.answers.append((response.status_code, response.get_data(as_text=True)))

        thread = threading.Thread(target=one, daemon=True)
        self.threads.append(thread)
        thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(60)
        assert not any(t.is_alive() for t in self.threads)


@pytest.fixture
def pooled(tmp_path: Path, pg_url: str) -> Iterator[tuple[Flask, _Requests]]:
    """central on a fresh PostgreSQL database with a pool of 3, and a page that tells which
    server process answered it (holding its connection until told, if asked to)."""
    from central import create_app

    app = create_app(
        {"DATA_DIR": tmp_path / "central", "DATABASE_URL": pg_url, "TESTING": True, "DB_POOL": 3}
    )
    requests = _Requests(app)

    @app.get("/test/backend")
    def backend() -> Any:
        from flask import request

        pid = database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
        if request.args.get("hold"):
            with requests._lock:
                requests.holding += 1
            requests.release.wait(60)
        return str(pid)

    yield app, requests
    requests.release.set()
    database.close()


def _backends(pg_url: str) -> int:
    """Server processes connected to the test database now."""
    name = pg_url.rsplit("/", 1)[1]
    conn = psycopg2.connect(PG_ADMIN)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,))
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def _waiting_for_a_connection() -> int:
    """Threads inside the pool's connect, waiting for a connection to come back."""
    return sum(1 for frame in sys._current_frames().values() if _in_pool_connect(frame))


def _in_pool_connect(frame: Any) -> bool:
    while frame is not None:
        code = frame.f_code
        if code.co_name == "connect" and code.co_filename.endswith("playhouse/pool.py"):
            return True
        frame = frame.f_back
    return False


def test_many_requests_reuse_a_handful_of_server_connections(pooled, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    app, requests = pooled
    for _ in range(4):
        for _ in range(10):
            requests.start("/test/backend")
        requests.join()
    assert len(requests.answers) == 40 and {code for code, _ in requests.answers} == {200}
    pids = {pid for _, pid in requests.answers}
    assert 1 <= len(pids) <= 3  # not a new server process per request
    assert _backends(pg_url) <= 3


def test_a_burst_beyond_the_pool_waits_for_a_connection_instead_of_failing(pooled) -> None:  # type: ignore[no-untyped-def]
    app, requests = pooled
    for _ in range(3):  # the whole pool, held
        requests.start("/test/backend?hold=1")
    wait_until(lambda: requests.holding == 3, "three requests holding the pool's connections")
    for _ in range(4):
        requests.start("/test/backend")
    wait_until(lambda: _waiting_for_a_connection() == 4, "four requests waiting for a connection")
    assert requests.answers == []
    requests.release.set()
    requests.join()
    assert [code for code, _ in requests.answers] == [200] * 7
    assert len({pid for _, pid in requests.answers}) == 3
