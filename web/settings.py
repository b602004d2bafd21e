"""Settings both apps read the same way: a data directory and a persistent secret key."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet

__all__ = ["secret_key_for", "sealing_key_for", "env_path"]


def env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name, default)).expanduser().resolve()


def secret_key_for(data_dir: Path) -> str:
    """The app's session key, made once and kept (0600) so logins survive restarts."""
    return _kept_secret(data_dir / "secret_key", lambda: secrets.token_hex(32))


def sealing_key_for(data_dir: Path) -> bytes:
    """The key (Fernet) that seals the secrets central must keep in its database, such as
    a SIP trunk's password: a copy of the database alone does not give them away."""
    return _kept_secret(data_dir / "sealing_key", lambda: Fernet.generate_key().decode()).encode()


def _kept_secret(path: Path, make: Callable[[], str]) -> str:
    """A secret made once and kept in `path` (0600).

    Several central instances may start at once on one shared data directory: the key
    is written whole to a file of its own, then published with a hard link, which
    fails if another instance published first; then that instance's key is the key.
    """
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = make()
    draft = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(key)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            return path.read_text().strip()
        return key
    finally:
        draft.unlink(missing_ok=True)
