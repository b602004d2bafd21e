"""Fixtures: central with the centre's CA already made (RSA keys are slow), a consultant's key."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from central.signing import CentreCA, SignerCredential

CENTRE = "ГБУЗ «Областная клиническая больница», консультативный центр"


@pytest.fixture(scope="session")
def centre_ca(tmp_path_factory: pytest.TempPathFactory) -> CentreCA:
    return CentreCA.open(tmp_path_factory.mktemp("centre") / "ca", CENTRE)


@pytest.fixture(scope="session")
def ivanova_key(centre_ca: CentreCA) -> SignerCredential:
    return centre_ca.issue_signer("Иванова Мария Сергеевна", CENTRE, None)


@pytest.fixture
def central(central_app, centre_ca: CentreCA):  # type: ignore[no-untyped-def]
    """central (app, demo data) whose data directory already holds the centre's CA."""
    app, data = central_app
    shutil.copytree(centre_ca.directory, Path(app.config["DATA_DIR"]) / "ca")
    return app, data


@pytest.fixture(scope="session")
def nss_db(tmp_path_factory: pytest.TempPathFactory, centre_ca: CentreCA) -> str:
    """An NSS database that trusts the centre's CA and nothing else, as ``sql:DIR``."""
    if shutil.which("certutil") is None:
        pytest.skip("libnss3-tools (certutil) is not installed")
    directory = tmp_path_factory.mktemp("nssdb")
    (directory / "ca.crt").write_bytes(centre_ca.certificate_pem)
    database = f"sql:{directory}"
    subprocess.run(["certutil", "-N", "-d", database, "--empty-password"], check=True)
    subprocess.run(
        ["certutil", "-A", "-d", database, "-n", "ca", "-t", "CT,C,C", "-i", str(directory / "ca.crt")],
        check=True,
    )
    return database
