"""Helpers for detached signatures: OpenSSL's own verdict, independent of faplink's code."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from protocol_signatures.openssl import gost_available

FAKE_CRYPTCP = Path(__file__).parents[1] / "signing" / "fake_cryptcp.py"
PASSPHRASE = "Пароль подписи 2025"

needs_gost = pytest.mark.skipif(
    not gost_available(), reason="libengine-gost-openssl (OpenSSL's GOST engine) is not installed"
)

# Written out here rather than taken from protocol_signatures.openssl: the check must not lean on
# the code it checks.
_ENGINE_CONFIG = """openssl_conf = openssl_def
[openssl_def]
engines = engine_section
[engine_section]
gost = gost_section
[gost_section]
engine_id = gost
default_algorithms = ALL
"""


def openssl_cms_verify(
    pdf: bytes, p7s: bytes, ca_pem: bytes, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    """``openssl cms -verify`` of a detached DER signature against ``ca_pem`` alone."""
    directory = tmp_path / "openssl-verify"
    directory.mkdir(exist_ok=True)
    (directory / "engine.cnf").write_text(_ENGINE_CONFIG)
    (directory / "protocol.pdf").write_bytes(pdf)
    (directory / "protocol.p7s").write_bytes(p7s)
    (directory / "ca.pem").write_bytes(ca_pem)
    return subprocess.run(
        [
            "openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", "protocol.p7s",
            "-content", "protocol.pdf", "-CAfile", "ca.pem", "-no-CApath", "-no-CAstore",
            "-purpose", "any", "-out", "/dev/null",
        ],
        cwd=directory,
        env={**os.environ, "OPENSSL_CONF": str(directory / "engine.cnf")},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip


def cms_print(p7s: bytes, tmp_path: Path) -> str:
    """``openssl cms -cmsout -print``: the signature's structure as OpenSSL reads it."""
    path = tmp_path / "print.p7s"
    path.write_bytes(p7s)
    (tmp_path / "engine.cnf").write_text(_ENGINE_CONFIG)
    return subprocess.run(
        ["openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", str(path)],
        env={**os.environ, "OPENSSL_CONF": str(tmp_path / "engine.cnf")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def flip_byte(data: bytes) -> bytes:
    """One bit changed in the middle of the file: what a detached signature must notice."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]
