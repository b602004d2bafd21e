"""Settings both apps read the same way: a data directory and a persistent secret key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["secret_key_for", "env_path"]


def env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name, default)).expanduser().resolve()


def secret_key_for(data_dir: Path) -> str:
    """The app's session key, made once and kept (0600) so logins survive restarts."""
    path = data_dir / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key)
    return key
