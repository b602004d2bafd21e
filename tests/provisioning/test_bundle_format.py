"""An enrolment bundle is refused if any byte of it was changed, and only trusted from one centre."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from enrolment.bundle import FORMAT, centre_bundle_key, open_bundle, public_hex, seal
from provisioning.errors import BundleError

PAYLOAD = {
    "format": FORMAT,
    "node_id": "kiosk-0123456789",
    "organization_id": "7d7f5b4e-8a51-4a47-9d0e-5a9b3c2f1e00",
    "central_url": "https://centre.example:8700",
    "node_key": "-----BEGIN PRIVATE KEY-----\nnot a real one\n-----END PRIVATE KEY-----\n",
    "cursor": 42,
    "records": [],
}


def test_a_sealed_bundle_opens_with_its_payload_and_centre_key() -> None:
    key = Ed25519PrivateKey.generate()
    bundle = open_bundle(seal(PAYLOAD, key))
    assert bundle.payload == PAYLOAD
    assert bundle.centre_key == public_hex(key)
    assert (bundle.node_id, bundle.cursor) == ("kiosk-0123456789", 42)


def test_changing_any_single_byte_is_refused_with_a_clear_message() -> None:
    data = seal(PAYLOAD, Ed25519PrivateKey.generate())
    for position in range(len(data)):
        for flip in (0x01, 0x80):
            tampered = bytearray(data)
            tampered[position] ^= flip
            with pytest.raises(BundleError) as refused:
                open_bundle(bytes(tampered))
            message = refused.value.message
            assert "не пакет регистрации" in message or "повреждён или изменён" in message, (
                position,
                message,
            )


def test_bytes_added_or_cut_are_refused() -> None:
    data = seal(PAYLOAD, Ed25519PrivateKey.generate())
    for changed in (data + b"\n", data + b"x", data[:-1], b" " + data, data.replace(b"\n", b"\r\n", 1)):
        with pytest.raises(BundleError):
            open_bundle(changed)


def test_a_bundle_resigned_by_someone_else_verifies_but_names_another_centre() -> None:
    ours, theirs = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    forged = open_bundle(seal(PAYLOAD, theirs))
    # The signature is valid — the pinned centre key is what tells them apart (see test_enrolment).
    assert forged.centre_key != public_hex(ours)


def test_the_centre_bundle_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = centre_bundle_key(tmp_path)
    again = centre_bundle_key(tmp_path)
    assert public_hex(first) == public_hex(again)
    assert (tmp_path / "bundle-signing.key").stat().st_mode & 0o777 == 0o600
