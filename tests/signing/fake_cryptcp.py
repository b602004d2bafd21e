#!/usr/bin/env python3
"""A stand-in for КриптоПро's ``cryptcp``, for the external signer's tests.

Takes what the README's example command passes:
``fake_cryptcp.py -signf -der -dir OUTDIR -thumbprint THUMBPRINT INPUT``
and signs INPUT with a GOST key via ``openssl cms`` (GOST engine), writing
``OUTDIR/<INPUT name>.sig`` (DER), as ``cryptcp -signf -der -dir`` does.

Its "certificate store" and behaviour come from the environment:
``FAKE_CRYPTCP_CERT`` / ``FAKE_CRYPTCP_KEY`` the one certificate and key it holds,
``FAKE_CRYPTCP_PIN`` the key's PIN (compared with ``FAPLINK_SIGNER_PIN``),
``FAKE_CRYPTCP_MODE``: ``hang`` never answers, ``garbage`` writes no signature
but some bytes, ``nothing`` writes nothing and exits 0, ``other`` signs other bytes
than INPUT's.
Exit codes as cryptcp: 0 success, 1 bad arguments, 2 key or PIN errors.
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """openssl_conf = openssl_def
[openssl_def]
engines = engine_section
[engine_section]
gost = gost_section
[gost_section]
engine_id = gost
default_algorithms = ALL
"""


def fail(code: int, message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(code)


def main(argv: list[str]) -> None:
    mode = os.environ.get("FAKE_CRYPTCP_MODE", "")
    if mode == "hang":
        time.sleep(600)
    if len(argv) != 7 or argv[:3] != ["-signf", "-der", "-dir"] or argv[4] != "-thumbprint":
        fail(1, "Usage: cryptcp -signf -der -dir OUTDIR -thumbprint THUMBPRINT INPUT")
    outdir, thumbprint, source = Path(argv[3]), argv[5].upper(), Path(argv[6])
    certificate = Path(os.environ["FAKE_CRYPTCP_CERT"])
    pem = certificate.read_text()
    body = "".join(pem.split("-----")[2].split())
    import base64

    held = hashlib.sha1(base64.b64decode(body)).hexdigest().upper()
    if thumbprint != held:
        fail(2, f"[ErrorCode: 0x80092004] Certificate with thumbprint {thumbprint} not found")
    if os.environ.get("FAPLINK_SIGNER_PIN", "") != os.environ.get("FAKE_CRYPTCP_PIN", ""):
        fail(2, "[ErrorCode: 0x8009000b] Wrong PIN")
    if mode == "nothing":
        return
    target = outdir / (source.name + ".sig")
    if mode == "garbage":
        target.write_bytes(b"not a signature")
        return
    with tempfile.TemporaryDirectory() as temporary:
        config = Path(temporary) / "gost.cnf"
        config.write_text(CONFIG)
        if mode == "other":
            other = Path(temporary) / source.name
            other.write_bytes(source.read_bytes() + b"\n")
            source = other
        done = subprocess.run(
            [
                "openssl", "cms", "-sign", "-binary", "-in", str(source), "-signer", str(certificate),
                "-inkey", os.environ["FAKE_CRYPTCP_KEY"], "-passin", "env:FAKE_CRYPTCP_PIN",
                "-md", "md_gost12_256", "-cades", "-nosmimecap", "-outform", "DER", "-out", str(target),
            ],
            env={**os.environ, "OPENSSL_CONF": str(config)},
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
    if done.returncode != 0:
        fail(2, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "openssl failed")


if __name__ == "__main__":
    main(sys.argv[1:])
