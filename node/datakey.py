"""The post's data key: what opens node.db and the files, and where it is kept.

One random 256-bit data key per post. node.db's SQLCipher key and the files'
AES-GCM key are derived from it (HKDF-SHA256, one label each). The key itself
is never written in the clear. It is kept, in this order of preference:

1. sealed by the machine's TPM 2.0 (``systemd-creds encrypt --with-key=tpm2``) in
   ``data-key.cred``; systemd hands it to the node service as the credential
   ``faplink-data-key`` (``LoadCredentialEncrypted=``), so the post opens at boot;
2. wrapped for each feldsher of the post in ``keyring.json``: the wrapping key is
   derived from the Argon2id hash of their password, the same hash central keeps
   (``StaffCredential.password_hash``), so the node can wrap the key for a
   feldsher whose password it never saw, and unwraps it when they log in after
   boot. The entries follow the credentials sync brings (a password changed or a
   feldsher gone changes the keyring on the next round);
3. wrapped to central's recovery key (X25519) in ``keyring.json``, so that a field
   engineer can open a post whose feldshers left (provisioning.recovery).

For the demo and tests, ``FAPLINK_DATA_KEY_FILE`` names a file that holds the key
(hex), made on first start: never on a real post.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import Type, extract_parameters
from argon2.exceptions import InvalidHashError
from argon2.low_level import hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sync.db import connect_file, is_plain_sqlite, private_file

__all__ = [
    "DataKey",
    "DataKeyError",
    "KEYRING_FILE",
    "SEALED_KEY_FILE",
    "CREDENTIAL_NAME",
    "NO_SEALED_KEY",
    "find_data_key",
    "key_from_file",
    "read_keyring",
    "write_keyring",
    "wrap_for_logins",
    "unlock_with_password",
    "keyring_logins",
    "tpm_available",
    "seal_with_tpm",
    "unseal_with_tpm",
    "encrypt_plain_database",
    "wrap_for_recovery",
    "unwrap_recovery",
    "may_start_afresh",
    "start_afresh",
]

log = logging.getLogger(__name__)

KEYRING_FILE = "keyring.json"
SEALED_KEY_FILE = "data-key.cred"
#: The credential's name in the node unit and in data-key.cred.
CREDENTIAL_NAME = "faplink-data-key"
#: The unit's SetCredential= default when the machine has no sealed key (systemd wants a value).
NO_SEALED_KEY = "none"
_KEYRING_FORMAT = 1


class DataKeyError(RuntimeError):
    """The data key cannot be had or does not open the post's data."""


def _hkdf(secret: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret)


@dataclass(frozen=True)
class DataKey:
    """The post's 256-bit data key and the keys derived from it."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise DataKeyError("a data key is 32 bytes")

    @classmethod
    def generate(cls) -> DataKey:
        return cls(os.urandom(32))

    @classmethod
    def from_hex(cls, text: str) -> DataKey:
        try:
            return cls(bytes.fromhex(text.strip()))
        except ValueError as exc:
            raise DataKeyError("a data key is 64 hex digits") from exc

    @property
    def database_key(self) -> bytes:
        return _hkdf(self.raw, b"faplink/node.db")

    @property
    def blob_key(self) -> bytes:
        return _hkdf(self.raw, b"faplink/blobs")

    def derive(self, label: str) -> bytes:
        """A key for another purpose (a backup's sealed files, the keyring's index)."""
        return _hkdf(self.raw, f"faplink/{label}".encode())

    def __repr__(self) -> str:  # never in a log or a traceback
        return "DataKey(…)"


# -- where the key comes from ------------------------------------------------------


def key_from_file(path: Path) -> DataKey:
    """The demo's and tests' key source: hex in a file (0600), made if missing."""
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(DataKey.generate().raw.hex())
    return DataKey.from_hex(path.read_text())


def find_data_key(data_dir: Path, configured: str | bytes | None = None) -> DataKey | None:
    """The data key without anyone's password: configured (tests), a key file (demo), the
    service's systemd credential, or the TPM-sealed file; None if a feldsher must log in."""
    if isinstance(configured, bytes):
        return DataKey(configured)
    if configured:
        return DataKey.from_hex(configured)
    key_file = os.environ.get("FAPLINK_DATA_KEY_FILE")
    if key_file:
        return key_from_file(Path(key_file))
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if credentials:
        path = Path(credentials) / CREDENTIAL_NAME
        text = path.read_text().strip() if path.is_file() else ""
        if text and text != NO_SEALED_KEY:  # the unit's default: no sealed key on this machine
            return DataKey.from_hex(text)
    if (data_dir / SEALED_KEY_FILE).is_file():
        try:
            return unseal_with_tpm(data_dir)
        except DataKeyError as exc:
            log.warning("the TPM-sealed data key did not open: %s", exc)
    return None


# -- the TPM (systemd-creds) -------------------------------------------------------


def _systemd_creds() -> str | None:
    return shutil.which("systemd-creds")


def tpm_available() -> bool:
    """Whether systemd-creds can seal with a TPM 2.0 here (`systemd-creds has-tpm2` says yes)."""
    program = _systemd_creds()
    if program is None:
        return False
    try:
        done = subprocess.run([program, "has-tpm2", "--quiet"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def seal_with_tpm(data_dir: Path, key: DataKey) -> Path:
    """Seal the key with the TPM into data-key.cred (readable only on this machine)."""
    program = _systemd_creds()
    if program is None:
        raise DataKeyError("systemd-creds is not installed")
    target = data_dir / SEALED_KEY_FILE
    draft = data_dir / f".{SEALED_KEY_FILE}.{os.getpid()}"
    try:
        subprocess.run(
            [program, "encrypt", "--with-key=tpm2", f"--name={CREDENTIAL_NAME}", "-", str(draft)],
            input=key.raw.hex().encode(),
            capture_output=True,
            check=True,
            timeout=60,
        )
        os.chmod(draft, 0o600)
        os.replace(draft, target)
    except (OSError, subprocess.SubprocessError) as exc:
        raise DataKeyError(f"systemd-creds could not seal the data key: {exc}") from exc
    finally:
        draft.unlink(missing_ok=True)
    return target


def unseal_with_tpm(data_dir: Path) -> DataKey:
    """Open data-key.cred with the TPM (as root, outside the service: the engineer's tools)."""
    program = _systemd_creds()
    if program is None:
        raise DataKeyError("systemd-creds is not installed")
    try:
        done = subprocess.run(
            [program, "decrypt", f"--name={CREDENTIAL_NAME}", str(data_dir / SEALED_KEY_FILE), "-"],
            capture_output=True,
            check=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise DataKeyError(f"systemd-creds could not open the data key: {exc}") from exc
    return DataKey.from_hex(done.stdout.decode())


# -- the keyring (keyring.json) ------------------------------------------------------


def read_keyring(data_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((data_dir / KEYRING_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("format") == _KEYRING_FORMAT else {}


def write_keyring(data_dir: Path, data: dict[str, Any]) -> None:
    """Write keyring.json atomically (0600)."""
    data = {**data, "format": _KEYRING_FORMAT}
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=f".{KEYRING_FILE}")
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=1, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, data_dir / KEYRING_FILE)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _entry_id(index_salt: bytes, login: str) -> str:
    # Logins may be surnames: the keyring names an entry by a keyed digest of the login.
    return hmac.new(index_salt, login.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]


def _argon2_parts(password_hash: str) -> tuple[Any, bytes, bytes] | None:
    """(parameters, salt, raw hash) of an argon2id hash string, None for anything else."""
    try:
        params = extract_parameters(password_hash)
    except InvalidHashError:
        return None
    if params.type is not Type.ID:
        return None
    fields = password_hash.split("$")
    return params, _unb64(fields[-2]), _unb64(fields[-1])


def _wrap(kek: bytes, key: DataKey, aad: bytes) -> str:
    nonce = os.urandom(12)
    return _b64(nonce + AESGCM(kek).encrypt(nonce, key.raw, aad))


def _unwrap(kek: bytes, wrapped: str, aad: bytes) -> DataKey | None:
    blob = _unb64(wrapped)
    try:
        return DataKey(AESGCM(kek).decrypt(blob[:12], blob[12:], aad))
    except (InvalidTag, ValueError):
        return None


def wrap_for_logins(
    data_dir: Path, key: DataKey, node_id: str, credentials: Iterable[tuple[str, str]]
) -> bool:
    """Make keyring.json's entries exactly the given (login, argon2id hash) pairs; the recovery
    copy stays. Returns whether the file changed (nothing is rewritten when nothing did)."""
    data = read_keyring(data_dir)
    index_salt = key.derive("keyring-index")
    pairs = sorted((login.strip().lower(), password_hash) for login, password_hash in credentials)
    marker = hmac.new(key.derive("keyring-marker"), json.dumps(pairs).encode(), hashlib.sha256).hexdigest()
    if data.get("marker") == marker and data.get("node_id") == node_id:
        return False
    entries: dict[str, Any] = {}
    for login, password_hash in pairs:
        parts = _argon2_parts(password_hash)
        if parts is None:
            log.warning("a credential without an argon2id hash cannot open the post's data")
            continue
        params, salt, raw = parts
        entry = _entry_id(index_salt, login)
        entries[entry] = {
            "t": params.time_cost,
            "m": params.memory_cost,
            "p": params.parallelism,
            "v": params.version,
            "salt": _b64(salt),
            "len": params.hash_len,
            "key": _wrap(_hkdf(raw, b"faplink/keyring"), key, f"{node_id}/{entry}".encode()),
        }
    # Entries are found by a keyed digest of the login (the key is stored beside them: this
    # keeps logins, which may be surnames, out of the file, not out of reach of a guess).
    data.update(node_id=node_id, marker=marker, logins=entries, index=_b64(index_salt))
    if entries:
        data["had_logins"] = True  # from now on only a login, the TPM or recovery opens it
    if data.get("recovery", {}).get("centre_key"):
        data["recovery"] = _recovery_entry(key, node_id, str(data["recovery"]["centre_key"]))
    write_keyring(data_dir, data)
    return True


# -- the recovery copy (central's X25519 key) -----------------------------------------------


def _recovery_kek(shared: bytes, ephemeral: bytes, centre: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=ephemeral + centre, info=b"faplink/recovery"
    ).derive(shared)


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _recovery_entry(key: DataKey, node_id: str, centre_key_hex: str) -> dict[str, str]:
    centre = bytes.fromhex(centre_key_hex)
    ephemeral = X25519PrivateKey.generate()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(centre))
    eph_raw = _raw_public(ephemeral.public_key())
    return {
        "centre_key": centre_key_hex,
        "ephemeral": eph_raw.hex(),
        "key": _wrap(_recovery_kek(shared, eph_raw, centre), key, f"recovery/{node_id}".encode()),
    }


def wrap_for_recovery(data_dir: Path, key: DataKey, node_id: str, centre_key_hex: str) -> None:
    """Keep a copy of the data key in keyring.json that only central's recovery key opens."""
    data = read_keyring(data_dir)
    data.update(node_id=node_id, recovery=_recovery_entry(key, node_id, centre_key_hex))
    write_keyring(data_dir, data)


def unwrap_recovery(keyring: dict[str, Any], centre_key: X25519PrivateKey) -> DataKey:
    """The data key from a post's keyring.json, with central's recovery private key."""
    entry = keyring.get("recovery")
    if not isinstance(entry, dict) or "ephemeral" not in entry:
        raise DataKeyError("this keyring holds no recovery copy of the data key")
    centre = _raw_public(centre_key.public_key())
    if entry.get("centre_key") != centre.hex():
        raise DataKeyError("this keyring's recovery copy is for another centre's key")
    ephemeral = bytes.fromhex(str(entry["ephemeral"]))
    shared = centre_key.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    found = _unwrap(
        _recovery_kek(shared, ephemeral, centre),
        str(entry["key"]),
        f"recovery/{keyring.get('node_id')}".encode(),
    )
    if found is None:
        raise DataKeyError("the recovery copy does not open: the keyring was altered")
    return found


# -- a post that never opened for anyone ----------------------------------------------------


def may_start_afresh(data_dir: Path) -> bool:
    """Whether the post's data may be made anew under a new key: no feldsher's login has ever
    opened it and no TPM holds its key, so nobody can have recorded anything there, and all
    it holds (if anything) came from central and comes again with the next sync. A keyring
    that is missing or unreadable beside an encrypted database says nothing: locked, then."""
    if (data_dir / SEALED_KEY_FILE).exists():
        return False
    database = data_dir / "node.db"
    if database.is_file() and database.stat().st_size and not is_plain_sqlite(database):
        keyring = read_keyring(data_dir)
        return bool(keyring) and not keyring.get("had_logins")
    return True


def start_afresh(data_dir: Path, node_id: str) -> DataKey:
    """A new data key for a post that never opened (see `may_start_afresh`): whatever an
    earlier key sealed is unreadable now and is removed; the recovery copy is made again.
    A plain database of an older version is kept, to be converted under the new key."""
    if not is_plain_sqlite(data_dir / "node.db"):
        # Moved aside, not deleted: should the old key turn up after all, nothing is lost.
        aside = data_dir / f"unopened-{os.getpid()}-{os.urandom(4).hex()}"
        for name in ("node.db", "node.db-wal", "node.db-shm", "node.db.mark", "sync-status.json", "blobs"):
            if (data_dir / name).exists():
                aside.mkdir(mode=0o700, exist_ok=True)
                os.replace(data_dir / name, aside / name)
    # else: a plain post of an older version, upgraded now: open_node converts it under this key.
    key = DataKey.generate()
    data = read_keyring(data_dir)
    centre_key = str(data.get("recovery", {}).get("centre_key") or "")
    data = {"node_id": node_id}
    if centre_key:
        data["recovery"] = _recovery_entry(key, node_id, centre_key)
    data_dir.mkdir(parents=True, exist_ok=True)
    write_keyring(data_dir, data)
    log.info("a new data key for a post no one has logged in to yet")
    return key


def keyring_logins(data_dir: Path) -> int:
    """How many logins can open the post's data."""
    return len(read_keyring(data_dir).get("logins") or {})


def unlock_with_password(data_dir: Path, login: str, password: str) -> DataKey | None:
    """The data key, if `password` is this login's; None otherwise (a wrong login or password)."""
    data = read_keyring(data_dir)
    entries = data.get("logins") or {}
    if not data.get("index") or not entries:
        return None
    entry_id = _entry_id(_unb64(str(data["index"])), login)
    entry = entries.get(entry_id)
    if not isinstance(entry, dict):
        hash_secret_raw(b"x", b"faplink-no-such", 2, 1024, 1, 32, Type.ID)  # a little time either way
        return None
    raw = hash_secret_raw(
        (password or "").encode(),
        _unb64(entry["salt"]),
        int(entry["t"]),
        int(entry["m"]),
        int(entry["p"]),
        int(entry["len"]),
        Type.ID,
        int(entry.get("v", 19)),
    )
    return _unwrap(_hkdf(raw, b"faplink/keyring"), entry["key"], f"{data['node_id']}/{entry_id}".encode())


# -- upgrading a plain post ----------------------------------------------------------


def encrypt_plain_database(path: Path, key: DataKey) -> bool:
    """Convert a plain node.db to SQLCipher in place: export into a new file, fsync, rename.

    A crash before the rename leaves the plain database as it was (the half-made copy is
    removed on the next try); after it, the encrypted one. Returns whether it converted."""
    if not is_plain_sqlite(path):
        return False
    draft = path.with_name(path.name + ".encrypting")
    for leftover in (draft, draft.with_name(draft.name + "-journal")):
        leftover.unlink(missing_ok=True)
    from sqlcipher3 import dbapi2 as sqlcipher

    conn = sqlcipher.connect(str(path), isolation_level=None)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute(f"ATTACH DATABASE ? AS encrypted KEY \"x'{key.database_key.hex()}'\"", (str(draft),))
        conn.execute("SELECT sqlcipher_export('encrypted')")
        conn.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        conn.execute("DETACH DATABASE encrypted")
        # Back to a rollback journal, so closing leaves no -wal beside the file being replaced.
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()
    with draft.open("rb+") as handle:
        os.fsync(handle.fileno())
    os.chmod(draft, 0o600)
    check = connect_file(draft, key.database_key)
    try:
        if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise DataKeyError(f"{draft}: the encrypted copy failed its integrity check")
    finally:
        check.close()
    os.replace(draft, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    for extra in ("-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)
    private_file(path)
    return True
