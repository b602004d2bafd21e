"""The kiosk's signing key (node.key) is sealed under the post's data key like the post's data:
an older post's plain key is sealed in place at its first start, a backup never carries it in
the clear, and a key that does not open is said plainly."""

from __future__ import annotations

import gzip
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from node import create_app
from node.datakey import DataKey
from node.errors import NodeKeyError
from node.identity import NodeIdentity
from node.nodekey import SEALED_HEADER, read_node_key
from provisioning.backup import backup, restore
from provisioning.layout import NodeDir
from sync.db import database
from sync.request_signing import NodeKey
from tests.helpers.data import TEST_DATA_KEY

KEY = DataKey.from_hex(TEST_DATA_KEY)


def _secrets(key: NodeKey) -> list[bytes]:
    """What would give the key away: its PEM, the PEM's base64 body, its raw 32 bytes."""
    pem = key.pem()
    raw = serialization.load_pem_private_key(pem, password=None).private_bytes(  # type: ignore[union-attr]
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    body = b"".join(pem.splitlines()[1:-1])
    return [pem, body, raw, b"PRIVATE KEY"]


def _assert_sealed(path: Path, key: NodeKey) -> None:
    data = path.read_bytes()
    assert data.startswith(SEALED_HEADER)
    for secret in _secrets(key):
        assert secret not in data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_node_key(path, KEY).public_hex == key.public_hex


def test_an_older_posts_plain_key_is_sealed_in_place_at_its_first_start(tmp_path: Path) -> None:
    identity = NodeIdentity("old-post-1", "post-x", "http://127.0.0.1:9", tmp_path / "node")
    key = NodeKey.generate()
    key.save(identity.key_path)  # as an older version (or `faplink node enroll`) wrote it
    identity.save()
    assert identity.key_path.read_bytes() == key.pem()

    app = create_app(
        {"DATA_DIR": identity.data_dir, "SYNC_ENABLED": False, "TESTING": True, "DATA_KEY": KEY.raw}
    )
    _assert_sealed(identity.key_path, key)
    # The node signs with the very same key (central knows it), read through the data key.
    assert app.extensions["sync_client"].key.public_hex == key.public_hex
    assert sorted(p.name for p in identity.data_dir.iterdir() if p.name.startswith(".node.key")) == []
    database.close()

    # A second start finds it sealed and leaves it as it is.
    before = identity.key_path.read_bytes()
    create_app({"DATA_DIR": identity.data_dir, "SYNC_ENABLED": False, "TESTING": True, "DATA_KEY": KEY.raw})
    assert identity.key_path.read_bytes() == before
    database.close()

    # Another post's data key opens nothing; neither does the file without one.
    with pytest.raises(NodeKeyError, match="не открывается ключом данных ФАП"):
        read_node_key(identity.key_path, DataKey(bytes(32)))
    with pytest.raises(NodeKeyError, match="ещё не открыт"):
        read_node_key(identity.key_path, None)


def test_a_backup_never_holds_the_kiosks_key_in_the_clear_and_a_restore_seals_it(
    node_app, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    app, _data = node_app
    data_dir = Path(app.config["DATA_DIR"])
    key = app.extensions["identity"].key()
    _assert_sealed(data_dir / "node.key", key)
    # A post whose database an earlier version encrypted, not started since its key is sealed:
    # its node.key is still plain when the engineer backs it up.
    (data_dir / "node.key").write_bytes(key.pem())
    database.close()

    nd = NodeDir(data_dir)
    nd.remember_key(KEY)
    archive = tmp_path / "usb" / "kiosk.tar.gz"
    backup(nd, archive)
    raw = gzip.decompress(archive.read_bytes())
    for secret in _secrets(key):
        assert secret not in raw

    target = NodeDir(tmp_path / "new-machine")
    restore(archive, target, lambda _root: KEY)
    _assert_sealed(target.key_file, key)
    assert target.node_key().public_hex == key.public_hex
