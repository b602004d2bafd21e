"""Settings both apps read the same way: a data directory and a persistent secret key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["secret_key_for", "env_path"]


def env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name, default)).expanduser().resolve()


def secret_key_for(data_dir: Path) -> str:
    """The app's session key, made once and kept (0600) so logins survive restarts.

    Several central instances may start at once on one shared data directory: the key
    is written whole to a file of its own, then published with a hard link, which
    fails if another instance published first; then that instance's key is the key.
    """
    path = data_dir / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    draft = data_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
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
