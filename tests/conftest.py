"""Shared fixtures: fresh SQLite files on disk per test, apps, seeded data, processes."""

from __future__ import annotations

import os
import random
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from peewee import Database
from werkzeug.serving import make_server

from sync.changes import latest_stamp
from sync.db import CENTRAL, bind_replica, database, open_database
from sync.migrations import migrate
from sync.state import CENTRAL_MIGRATIONS

#: The data key of the posts the fixtures build (hex; node/datakey.py's configured source).
TEST_DATA_KEY = "5a" * 32
TESTS = Path(__file__).parent

#: Ports handed out in this session: a port two servers were given would be refused to one.
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A free port for a server a test starts (see `free_port_block`)."""
    return free_port_block(1)


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free ports, below the kernel's ephemeral range.

    A port the kernel hands out for bind(0) (or one next to it) may be taken by any
    outgoing connection before the server that is meant to bind it starts; ports below
    the ephemeral range are only ever taken by listeners. None is handed out twice.
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    # Parallel workers (pytest-xdist) each draw from their own share of the range, so that
    # two of them never hand out the same port between the check and the server's bind.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    share = (low - 20000) // max(workers, 1)
    first = 20000 + share * (int(worker) if worker.isdigit() else 0)
    for _ in range(500):
        base = random.randrange(first, first + share - count)
        block = set(range(base, base + count))
        if block & _HANDED_OUT:
            continue
        socks = [socket.socket() for _ in range(count)]
        try:
            for offset, sock in enumerate(socks):
                sock.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
        _HANDED_OUT.update(block)
        return base
    raise RuntimeError("no block of free ports found")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A migrated central-side database in a real SQLite file, bound as central."""
    handle = open_database(tmp_path / "central.db")
    migrate(handle, CENTRAL_MIGRATIONS)
    bind_replica(CENTRAL)
    yield handle
    handle.close()


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Seed once per session (argon2 hashing is slow on purpose), copy per test."""
    from faplink.demo_seed import seed

    path = tmp_path_factory.mktemp("template") / "central.db"
    handle = open_database(path)
    migrate(handle, CENTRAL_MIGRATIONS)
    bind_replica(CENTRAL)
    data = seed(days=3, weekends=True)
    handle.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    handle.close()
    return path, data


@pytest.fixture
def seeded(tmp_path: Path, seeded_template):  # type: ignore[no-untyped-def]
    """A central database with the demo's region, centre, consultants, posts and patients."""
    template, data = seeded_template
    target = tmp_path / "central.db"
    shutil.copyfile(template, target)
    handle = open_database(target)
    bind_replica(CENTRAL, latest_stamp())
    yield data
    handle.close()


@contextmanager
def served_in_thread(app: Flask) -> Iterator[int]:
    """`app` over real HTTP in this process (its database stays inspectable); yields the port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)


def rows(model) -> int:  # type: ignore[no-untyped-def]
    return int(model.select().count())


#: The suite's speed classes, decided here and nowhere else (`make test-fast` leaves both
#: out). `slow`: real processes, fault injection, a shaped network; `browser`: drives Debian
#: chromium, and is slow too. A folder ("e2e/"), a module, or one test ("module::name"),
#: relative to tests/. Every module with "browser" in its name is a browser test.
SLOW = {
    "e2e/",
    "telephony/",
    "chat/test_chat_e2e.py",
    "dataprotection/test_post_at_rest.py",
    "dataprotection/test_broken_post.py",
    "dataprotection/test_recovery_copy.py",
    "devicecheck/test_loopback.py",
    "devicecheck/test_node_check_cli.py",
    "kiosk/test_kiosk_window.py",
    "linkquality/test_shaped_link.py",
    "provisioning/test_backup_restore_sync.py",
    "provisioning/test_enrol_from_bundle.py",
    "provisioning/test_enrol_with_token.py",
    "scaled/test_calls_across_instances.py",
    "scaled/test_queue_plans_postgres.py",
    "scaled/test_two_instances.py",
    "devicecheck/test_results.py::test_the_loopback_from_the_page_is_part_of_the_saved_result",
}


def _speed_marks(item: pytest.Item) -> list[pytest.MarkDecorator]:
    path = Path(str(item.path)).relative_to(TESTS).as_posix()
    test_id = f"{path}::{item.name.split('[')[0]}"
    if "browser" in Path(path).name:
        return [pytest.mark.slow, pytest.mark.browser]
    if any(path.startswith(f) for f in SLOW if f.endswith("/")) or path in SLOW or test_id in SLOW:
        return [pytest.mark.slow]
    return []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for mark in _speed_marks(item):
            item.add_marker(mark)


__all__ = ["free_port", "free_port_block", "served_in_thread", "rows", "database", "TEST_DATA_KEY"]


@pytest.fixture
def central_app(tmp_path: Path, seeded_template):  # type: ignore[no-untyped-def]
    """central's app on a copy of the seeded database; yields (app, demo data)."""
    from central import create_app

    template, data = seeded_template
    data_dir = tmp_path / "central"
    data_dir.mkdir()
    shutil.copyfile(template, data_dir / "central.db")
    app = create_app(
        {
            "DATA_DIR": data_dir,
            "DATABASE_URL": f"sqlite:///{data_dir / 'central.db'}",
            "TESTING": True,
        }
    )
    yield app, data
    database.close()


def post_records(template: Path, post_id: str) -> list[dict]:  # type: ignore[type-arg]
    """Everything central would send to a post on its first pull."""
    from sync.changes import collect_changes

    handle = open_database(template)
    rows_, _ = collect_changes(0, 1_000_000, scope_org=post_id)
    records = [row.to_wire() for row in rows_]
    handle.close()
    return records


@pytest.fixture
def node_app(tmp_path: Path, seeded_template):  # type: ignore[no-untyped-def]
    """Post 1's node, as after its first pull from central (no central running)."""
    from node import create_app
    from node.identity import NodeIdentity
    from sync.apply import apply_records
    from sync.signing import NodeKey

    template, data = seeded_template
    post_id = data.posts[0][0]
    records = post_records(template, post_id)
    identity = NodeIdentity("test-post-1", post_id, "http://127.0.0.1:9", tmp_path / "node")
    NodeKey.generate().save(identity.key_path)
    identity.save()
    # The post's data key comes from the TPM or a feldsher's login on a kiosk; here it is given.
    app = create_app(
        {"DATA_DIR": identity.data_dir, "SYNC_ENABLED": False, "TESTING": True, "DATA_KEY": TEST_DATA_KEY}
    )
    result = apply_records(records, peer="central", from_central=True)
    assert not result.refused and result.pending == 0
    yield app, data
    database.close()


def login(client, login_name: str, password: str = "demo1234") -> str:  # type: ignore[no-untyped-def]
    """Log in through the JSON API; returns the CSRF token for later writes."""
    response = client.post("/api/v1/session", json={"login": login_name, "password": password})
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["csrf_token"])


def future_slot(consultant):  # type: ignore[no-untyped-def]
    """The consultant's first slot that is still ahead (the seed is made once per session)."""
    from datetime import timedelta

    from sync.clock import utcnow
    from sync.models import Slot

    return (
        Slot.select()
        .where((Slot.consultant == consultant) & (Slot.starts_at > utcnow() + timedelta(minutes=1)))
        .order_by(Slot.starts_at)
        .first()
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    """Under CI (CI=true) a skipped test fails, naming why: a skip is not a pass."""
    outcome = yield
    report = outcome.get_result()
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    if ci and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must run everything: {reason}"
