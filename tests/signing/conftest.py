"""Fixtures for signing: the centre's CA, a consultant's credential, a real protocol PDF.

Keys are real RSA-3072 keys and PDFs are real protocols, so the expensive ones are made
once per session; a test that needs something different makes its own.
"""

from __future__ import annotations

import subprocess

import pytest

from central.documents.protocol_pdf import render_protocol_pdf
from central.signing import CentreCA, SignerCredential, sign_protocol
from tests.helpers.signing import CENTRE, CONSULTANT, HOSPITAL, protocol_document


@pytest.fixture(scope="session")
def centre_ca(tmp_path_factory: pytest.TempPathFactory) -> CentreCA:
    return CentreCA.open(tmp_path_factory.mktemp("centre-ca"), CENTRE)


@pytest.fixture(scope="session")
def consultant(centre_ca: CentreCA) -> SignerCredential:
    return centre_ca.issue_signer(CONSULTANT, HOSPITAL, "kuznetsova@example.ru")


@pytest.fixture(scope="session")
def protocol_pdf() -> bytes:
    return render_protocol_pdf(protocol_document())


@pytest.fixture(scope="session")
def signed_pdf(protocol_pdf: bytes, consultant: SignerCredential, centre_ca: CentreCA) -> bytes:
    return sign_protocol(
        protocol_pdf,
        consultant,
        signer_name=CONSULTANT,
        location="Консультативный центр",
        ca_chain=[centre_ca.certificate],
    )


@pytest.fixture(scope="session")
def nss_db(tmp_path_factory: pytest.TempPathFactory, centre_ca: CentreCA) -> str:
    """An NSS database that trusts the centre's CA and nothing else, as ``sql:DIR``."""
    directory = tmp_path_factory.mktemp("nssdb")
    (directory / "ca.crt").write_bytes(centre_ca.certificate_pem)
    database = f"sql:{directory}"
    subprocess.run(["certutil", "-N", "-d", database, "--empty-password"], check=True)
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            database,
            "-n",
            "ca",
            "-t",
            "CT,C,C",
            "-i",
            str(directory / "ca.crt"),
        ],
        check=True,
    )
    return database
