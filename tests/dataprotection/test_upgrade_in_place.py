"""A post of an older version (plain node.db, plain files) is encrypted in place on upgrade,
without losing a record or a file, and a conversion cut short by a crash starts over cleanly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from node import create_app
from node.datakey import DataKey
from node.identity import NodeIdentity
from sync.apply import apply_records
from sync.blobs import BlobStore
from sync.changes import latest_stamp
from sync.db import SQLITE_HEADER, bind_replica, connect_file, database, open_database
from sync.migrations import migrate
from sync.request_signing import NodeKey
from sync.state import NODE_MIGRATIONS
from tests.helpers.data import post_records

KEY = DataKey(bytes(range(32)))


def _tables(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    return {name: conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchall() for name in names}


def _plain_post(tmp_path: Path, seeded_template) -> tuple[Path, dict[str, bytes], str]:  # type: ignore[no-untyped-def]
    """A post as an older version left it: its records, three files, a partial download."""
    template, data = seeded_template
    post_id = data.posts[0][0]
    records = post_records(template, post_id)
    identity = NodeIdentity("old-post-1", post_id, "http://127.0.0.1:9", tmp_path / "node")
    NodeKey.generate().save(identity.key_path)
    identity.save()
    db = open_database(identity.data_dir / "node.db")
    migrate(db, NODE_MIGRATIONS)
    bind_replica(identity.node_id, latest_stamp())
    result = apply_records(records, peer="central", from_central=True)
    assert not result.refused and result.pending == 0
    surname = next(r["fields"]["last_name"] for r in records if r["model"] == "patient")
    blobs = BlobStore(identity.data_dir / "blobs")
    files = {}
    for n, size in enumerate((10, 70_000, 300_000)):
        data_ = (f"Выписка: {surname} №{n} ".encode() * (size // 20 + 1))[:size]
        files[blobs.put(data_)] = data_
    part = blobs.staging_path("ab" * 32)
    part.write_bytes(f"{surname} начало файла".encode())
    db.close()
    return identity.data_dir, files, surname


def test_an_old_plain_post_is_encrypted_in_place_with_every_row_and_file(
    tmp_path: Path, seeded_template
) -> None:  # type: ignore[no-untyped-def]
    data_dir, files, surname = _plain_post(tmp_path, seeded_template)
    plain = connect_file(data_dir / "node.db")
    before = _tables(plain)
    plain.close()
    assert (data_dir / "node.db").read_bytes().startswith(SQLITE_HEADER)
    # A conversion an earlier start began and a crash cut short: its half-made copy is dropped.
    (data_dir / "node.db.encrypting").write_bytes(os.urandom(8192))
    # So is the half of the files' conversion: one file already sealed, the others still plain.
    first = sorted(files)[0]
    sealed = BlobStore(tmp_path / "scratch", key=KEY.blob_key)
    sealed.put(files[first])
    os.replace(sealed.path(first), data_dir / "blobs" / first[:2] / first)

    app = create_app({"DATA_DIR": data_dir, "SYNC_ENABLED": False, "TESTING": True, "DATA_KEY": KEY.raw})
    store: BlobStore = app.extensions["blobs"]
    for sha, content in files.items():
        assert store.read(sha) == content
    database.close()

    raw = (data_dir / "node.db").read_bytes()
    assert not raw.startswith(SQLITE_HEADER)
    assert not (data_dir / "node.db.encrypting").exists()
    conn = connect_file(data_dir / "node.db", KEY.database_key)
    after = _tables(conn)
    conn.close()
    for table, rows in before.items():
        assert after[table] == rows, f"{table} changed in the conversion"
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert surname.encode() not in path.read_bytes(), path
    assert not list((data_dir / "blobs" / "staging").glob("*.part"))  # fetched again, sealed
