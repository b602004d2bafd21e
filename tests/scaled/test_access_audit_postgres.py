"""«Журнал доступа» on PostgreSQL: appends from many threads (as from several instances) line
up on the chain's head, one after the other, and the chain holds."""

from __future__ import annotations

import threading
from pathlib import Path

from domain.models import AccessEntry, append_entry, verify_chains
from sync.db import CENTRAL, database


def test_concurrent_appends_make_one_unbroken_chain(tmp_path: Path, pg_url: str) -> None:
    from central import create_app

    create_app({"DATA_DIR": tmp_path / "central", "DATABASE_URL": pg_url, "TESTING": True})
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                append_entry(action="view", kind="patient", patient=f"p-{n}-{i}", address=f"10.0.0.{n}")
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    positions = [r.position for r in AccessEntry.select().where(AccessEntry.origin == CENTRAL)]
    assert sorted(positions) == list(range(1, 41))
    assert verify_chains() == (40, [])
    database.close()
