"""The external signing program (КриптоПро's cryptcp in production), played by tests/signing/fake_cryptcp.py.

The contract under test is the README's: placeholders filled in, no shell, a detached
signature read from ``{output}`` or the only file in ``{outdir}``, exit code 0 for
success, the program's last line of stderr in a Russian message otherwise, and the
whole process group killed after the timeout.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from central.signing import SigningError
from central.signing.external import ExternalCertificateStore, ExternalCommand, check_template
from central.signing.gost import GostCA, GostSignerStore
from protocol_signatures.cms import verify_detached
from tests.helpers.cms import FAKE_CRYPTCP, PASSPHRASE, flip_byte, needs_gost, openssl_cms_verify
from tests.helpers.signing import CONSULTANT, HOSPITAL

TEMPLATE = f"{FAKE_CRYPTCP} -signf -der -dir {{outdir}} -thumbprint {{thumbprint}} {{input}}"
DOCUMENT = b"%PDF-1.4\n% a stamped protocol\n"


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> tuple[GostCA, Path, Path]:
    """The CA, and the certificate and key file that the program's "key store" holds."""
    root = tmp_path_factory.mktemp("token")
    ca = GostCA.open(root / "ca-gost", "Аккредитованный УЦ (тест)")
    signer = GostSignerStore(root / "keys", ca).create("s", CONSULTANT, HOSPITAL, PASSPHRASE)
    return ca, signer.key_path.with_suffix(".crt"), signer.key_path


@pytest.fixture
def cryptcp(monkeypatch: pytest.MonkeyPatch, token: tuple[GostCA, Path, Path]) -> str:
    """The stand-in's environment; returns the thumbprint of the certificate it holds."""
    ca, certificate, key = token
    monkeypatch.setenv("FAKE_CRYPTCP_CERT", str(certificate))
    monkeypatch.setenv("FAKE_CRYPTCP_KEY", str(key))
    monkeypatch.setenv("FAKE_CRYPTCP_PIN", PASSPHRASE)
    monkeypatch.delenv("FAKE_CRYPTCP_MODE", raising=False)
    store = ExternalCertificateStore(certificate.parent.parent / "registered", [ca.certificate])
    return store.add("s", certificate.read_bytes()).thumbprint


pytestmark = needs_gost


def test_the_program_signs_and_openssl_and_the_post_accept_it(
    cryptcp: str, token: tuple[GostCA, Path, Path], tmp_path: Path
) -> None:
    ca = token[0]
    p7s = ExternalCommand(TEMPLATE, timeout=30).sign(DOCUMENT, thumbprint=cryptcp, pin=PASSPHRASE)
    assert openssl_cms_verify(DOCUMENT, p7s, ca.certificate_pem, tmp_path).returncode == 0
    result = verify_detached(DOCUMENT, p7s, [ca.certificate_pem.decode()])
    assert result.valid and result.signer_name == CONSULTANT
    assert not verify_detached(flip_byte(DOCUMENT), p7s, [ca.certificate_pem.decode()]).valid


def test_an_explicit_output_path_is_read_too(cryptcp: str, tmp_path: Path) -> None:
    wrapper = tmp_path / "sign.sh"
    # Signs elsewhere, moves the result to {output}, and leaves a log in {outdir}: {output} wins.
    wrapper.write_text(
        f'#!/bin/sh\nset -e\nd=$(mktemp -d)\n"{FAKE_CRYPTCP}" -signf -der -dir "$d" -thumbprint "$3" "$1"\n'
        'mv "$d"/protocol.pdf.sig "$4"\nrmdir "$d"\necho done > "$2"/sign.log\n'
    )
    wrapper.chmod(0o755)
    p7s = ExternalCommand(f"{wrapper} {{input}} {{outdir}} {{thumbprint}} {{output}}").sign(
        DOCUMENT, thumbprint=cryptcp, pin=PASSPHRASE
    )
    assert p7s[:1] == b"\x30"


def test_a_failure_is_one_clear_russian_sentence_with_the_programs_words(cryptcp: str) -> None:
    command = ExternalCommand(TEMPLATE, timeout=30)
    with pytest.raises(SigningError) as wrong_pin:
        command.sign(DOCUMENT, thumbprint=cryptcp, pin="0000")
    assert str(wrong_pin.value) == (
        "Программа подписи завершилась с ошибкой (код 2): [ErrorCode: 0x8009000b] Wrong PIN. "
        "Протокол не подписан."
    )
    with pytest.raises(SigningError, match="код 2.*not found"):
        command.sign(DOCUMENT, thumbprint="AB" * 20, pin=PASSPHRASE)


def test_a_program_that_hangs_is_killed_after_the_timeout(
    cryptcp: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_CRYPTCP_MODE", "hang")
    started = time.monotonic()
    with pytest.raises(SigningError, match="не ответила за 1 с и остановлена"):
        ExternalCommand(TEMPLATE, timeout=1).sign(DOCUMENT, thumbprint=cryptcp, pin=PASSPHRASE)
    assert time.monotonic() - started < 120, "killed at its timeout, not waited for (it hangs 600 s)"


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("nothing", "не создала файл подписи"),
        ("garbage", "не является подписью CMS"),
    ],
)
def test_no_signature_or_not_a_signature_is_refused(
    cryptcp: str, monkeypatch: pytest.MonkeyPatch, mode: str, message: str
) -> None:
    monkeypatch.setenv("FAKE_CRYPTCP_MODE", mode)
    with pytest.raises(SigningError, match=message):
        ExternalCommand(TEMPLATE).sign(DOCUMENT, thumbprint=cryptcp, pin=PASSPHRASE)


def test_a_missing_program_is_named() -> None:
    with pytest.raises(SigningError, match="«/opt/cprocsp/bin/amd64/cryptcp» не найдена"):
        ExternalCommand("/opt/cprocsp/bin/amd64/cryptcp -signf {input}").sign(DOCUMENT, thumbprint="AB" * 20)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("", "Укажите команду подписи"),
        ("cryptcp -signf -dir {outdir}", "нет {input}"),
        ("cryptcp -signf {input} {key}", "неизвестная подстановка {key}"),
        ("cryptcp -signf '{input}", "кавычки"),
        ("{input} -x", "начинаться с имени программы"),
    ],
)
def test_the_administrators_template_is_checked(template: str, message: str) -> None:
    with pytest.raises(SigningError, match=message.replace("{", r"\{").replace("}", r"\}")):
        check_template(template)


def test_a_registered_certificate_is_found_by_thumbprint(
    token: tuple[GostCA, Path, Path], tmp_path: Path
) -> None:
    ca, certificate, _key = token
    store = ExternalCertificateStore(tmp_path, [ca.certificate])
    added = store.add("staff-1", certificate.read_bytes())
    assert len(added.thumbprint) == 40 and added.trusted and added.holder == CONSULTANT
    assert store.find("staff-1", added.thumbprint.lower()) == added
    with pytest.raises(SigningError, match="не является сертификатом"):
        store.add("staff-1", b"hello")
    assert not ExternalCertificateStore(tmp_path, []).certificates("staff-1")[0].trusted


def test_the_signer_stamps_the_pdf_and_refuses_a_signature_of_other_bytes(
    cryptcp: str, token: tuple[GostCA, Path, Path], protocol_pdf: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from central.signing.signers import ExternalSigner

    ca, certificate, _key = token
    store = ExternalCertificateStore(certificate.parent.parent / "registered", [ca.certificate])
    signer = ExternalSigner(ExternalCommand(TEMPLATE, timeout=30), store)
    assert [signer.choice_id(c) for c in signer.choices("s")] == [cryptcp]
    files = signer.sign(
        protocol_pdf, staff_id="s", signer_name=CONSULTANT, location="", choice=cryptcp, passphrase=PASSPHRASE
    )
    assert files.pdf != protocol_pdf and files.signature is not None
    assert verify_detached(files.pdf, files.signature, [ca.certificate_pem.decode()]).valid
    monkeypatch.setenv("FAKE_CRYPTCP_MODE", "other")
    with pytest.raises(SigningError, match="не сходится с протоколом"):
        signer.sign(
            protocol_pdf,
            staff_id="s",
            signer_name=CONSULTANT,
            location="",
            choice=cryptcp,
            passphrase=PASSPHRASE,
        )
