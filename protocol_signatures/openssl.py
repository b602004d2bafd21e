"""OpenSSL with the GOST engine, as a child process: the one place both sides run it.

GOST R 34.10-2012 / 34.11-2012 come from Debian's ``libengine-gost-openssl``; the
``openssl`` command loads it through a configuration file of ours (``OPENSSL_CONF``),
so the system's configuration stays untouched and a missing engine is one clear error.
Secrets (a key's passphrase) go to the child in its environment, never in ``argv``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["GOST_CONFIG", "OpenSSLError", "gost_available", "run_openssl", "write_gost_config"]

#: Loads the gost engine for every algorithm it provides (keys, digests, CMS).
GOST_CONFIG = """\
openssl_conf = openssl_def
[openssl_def]
engines = engine_section
[engine_section]
gost = gost_section
[gost_section]
engine_id = gost
default_algorithms = ALL
"""

_TIMEOUT = 60.0
#: What to tell the administrator when the engine or openssl itself is missing.
NO_GOST = (
    "На этом компьютере нет поддержки ГОСТ в OpenSSL: установите пакет libengine-gost-openssl "
    "(sudo apt-get install libengine-gost-openssl)."
)


class OpenSSLError(Exception):
    """``openssl`` could not run or failed; ``stderr`` holds its own words (English)."""

    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


def write_gost_config(directory: Path) -> Path:
    """Write our OpenSSL configuration into ``directory`` and return its path."""
    path = directory / "openssl-gost.cnf"
    path.write_text(GOST_CONFIG, encoding="ascii")
    return path


def run_openssl(
    args: Sequence[str],
    workdir: Path,
    *,
    secrets: Mapping[str, str] | None = None,
    timeout: float = _TIMEOUT,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``openssl ARGS`` in ``workdir`` with the GOST engine loaded; raise on a non-zero exit."""
    binary = shutil.which("openssl")
    if binary is None:
        raise OpenSSLError(NO_GOST)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OPENSSL_CONF": str(write_gost_config(workdir))}
    env.update(secrets or {})
    try:
        done = subprocess.run(
            [binary, *args], cwd=workdir, env=env, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise OpenSSLError(f"openssl не ответил за {timeout:.0f} с") from error
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace")
        lowered = stderr.lower()
        if "gost" in lowered and any(
            word in lowered for word in ("engine", "dso", "unsupported", "unknown option")
        ):
            raise OpenSSLError(NO_GOST, stderr)
        raise OpenSSLError(f"openssl {args[0]} завершился с кодом {done.returncode}", stderr)
    return done


@functools.cache
def gost_available() -> bool:
    """Whether ``openssl`` here can make GOST R 34.10-2012 keys (the engine is installed)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="faplink-gost-") as temporary:
        try:
            arguments = ["genpkey", "-algorithm", "gost2012_256", "-pkeyopt", "paramset:TCA"]
            done = run_openssl(arguments, Path(temporary), timeout=10)
        except OpenSSLError:
            return False
        return b"PRIVATE KEY" in done.stdout
