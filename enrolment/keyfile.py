"""Central's long-lived private keys (bundle signing, post recovery): one way to keep them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

__all__ = ["kept_private_key"]


def kept_private_key(path: Path, generate: Callable[[], Any]) -> Any:
    """The private key kept (PEM, 0600) at `path`, made by `generate` on first use; of two
    processes making it at once, both keep the first one written. The caller checks its type."""
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it a moment ago: use theirs
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)
