"""`faplink demo --signer gost`: the demo centre signs with GOST test keys from the start."""

from __future__ import annotations

from pathlib import Path

from central.protocols.signer_settings import GOST, SignerSettings
from central.signing.gost import GostCA, GostSignerStore, sign_detached
from domain.models import Organization, OrgKind
from faplink.demo import prepare
from faplink.demo_seed import DEMO_PASSWORD
from protocol_signatures.cms import split_pem_bundle, verify_detached
from sync.db import open_database
from tests.helpers.cms import needs_gost


@needs_gost
def test_the_demo_centre_is_set_up_to_sign_with_gost(tmp_path: Path) -> None:
    plan = prepare(tmp_path / "demo", 18700, signer="gost")
    central = Path(plan["central"]["dir"])  # type: ignore[index]
    handle = open_database(central / "central.db")
    try:
        centre = Organization.get(Organization.kind == OrgKind.CENTRE)
        assert SignerSettings.get_by_id(centre.id).kind == GOST
        bundle = split_pem_bundle(centre.ca_certificate)
        gost = GostCA.open(central / "ca-gost", centre.name)
        assert len(bundle) == 2 and bundle[1] == gost.certificate_pem.decode()
        ivanova = next(login for login in plan["logins"] if login["login"] == "ivanova")  # type: ignore[attr-defined]
        assert ivanova["password"] == DEMO_PASSWORD
        store = GostSignerStore(central / "signers-gost", gost)
        keys = [signer for directory in store.root.iterdir() for signer in store.signers(directory.name)]
        assert keys and all(key.trusted for key in keys)
        document = b"%PDF-1.4 demo"
        assert verify_detached(document, sign_detached(document, keys[0], DEMO_PASSWORD), bundle).valid
    finally:
        handle.close()
