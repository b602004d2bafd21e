"""Shared fixtures: fresh SQLite files on disk per test, apps, seeded data, processes."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from peewee import Database

import domain  # noqa: F401  (registers the replicated models with the sync engine)
from sync.changes import latest_stamp
from sync.db import CENTRAL, bind_replica, database, open_database
from sync.migrations import migrate
from sync.state import CENTRAL_MIGRATIONS
from tests.helpers.data import TEST_DATA_KEY, post_records

TESTS = Path(__file__).parent


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
    "scaled/test_gateway.py",
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


@pytest.fixture
def node_app(tmp_path: Path, seeded_template):  # type: ignore[no-untyped-def]
    """Post 1's node, as after its first pull from central (no central running)."""
    from node import create_app
    from node.identity import NodeIdentity
    from sync.apply import apply_records
    from sync.request_signing import NodeKey

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
