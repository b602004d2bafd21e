"""Each centre's choice of signer («Электронная подпись» in administration): a side table at central.

Not replicated, like «Телефония»'s settings: a post learns only the CA certificates
that check the centre's signatures (``Organization.ca_certificate``). A centre
without a row signs as before: PAdES with the centre's RSA CA.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from peewee import CharField, DateTimeField, IntegerField, TextField

from central.signing.errors import SigningError
from central.signing.external import TIMEOUT_DEFAULT, TIMEOUT_MAX, TIMEOUT_MIN, check_template
from i18n import N_
from protocol_signatures.cms import split_pem_bundle
from protocol_signatures.openssl import NO_GOST, gost_available
from sync.clock import utcnow
from sync.db import create_side_tables, database
from sync.model import BaseModel

__all__ = [
    "EXTERNAL",
    "GOST",
    "KINDS",
    "PADES",
    "SignerSettings",
    "ensure_tables",
    "kind_for",
    "save_settings",
    "settings_for",
]

PADES, GOST, EXTERNAL = "pades", "gost", "external"
#: The signers an administrator may choose, as «Электронная подпись» lists them.
KINDS = {
    PADES: N_("PAdES: подпись внутри PDF, ключи RSA от УЦ центра (как раньше)"),
    GOST: N_("ГОСТ Р 34.10-2012: отсоединённая подпись .p7s, тестовый УЦ ГОСТ центра (OpenSSL)"),
    EXTERNAL: N_("Внешняя программа (например, КриптоПро cryptcp): сертифицированные ключи"),
}
GOST_BITS = (256, 512)
COMMAND_EXAMPLE = "cryptcp -signf -der -dir {outdir} -thumbprint {thumbprint} {input}"


class SignerSettings(BaseModel):
    """How a centre's consultants sign protocols."""

    centre_id = CharField(primary_key=True, max_length=64)
    kind = CharField(max_length=16, default=PADES)
    gost_bits = IntegerField(default=256)  # key size of new GOST keys
    command = TextField(default="")  # the external program's template
    timeout = IntegerField(default=TIMEOUT_DEFAULT)  # seconds the external program may run
    # The CA certificates (PEM) that issued the external program's keys, published to the posts.
    external_ca = TextField(default="")
    updated_at = DateTimeField(default=utcnow)
    updated_by = CharField(max_length=64, default="")


def ensure_tables() -> None:
    create_side_tables([SignerSettings])


def settings_for(centre_id: str | None) -> SignerSettings | None:
    if not centre_id:
        return None
    return SignerSettings.get_or_none(SignerSettings.centre_id == centre_id)


def kind_for(centre_id: str | None) -> str:
    settings = settings_for(centre_id)
    return settings.kind if settings is not None else PADES


def _text(form: Any, name: str) -> str:
    return str(form.get(name, "") or "").strip()


def save_settings(centre_id: str, form: Any, admin_id: str) -> SignerSettings:
    """Store the «Электронная подпись» form; :class:`SigningError` says what is wrong, in Russian."""
    kind = _text(form, "kind") or PADES
    if kind not in KINDS:
        raise SigningError(f"Неизвестный вид подписи: {kind}")
    bits_text = _text(form, "gost_bits") or "256"
    if not bits_text.isdigit() or int(bits_text) not in GOST_BITS:
        raise SigningError("Длина ключа ГОСТ — 256 или 512 бит.")
    command = _text(form, "command")
    timeout_text = _text(form, "timeout") or str(TIMEOUT_DEFAULT)
    if not timeout_text.isdigit() or not TIMEOUT_MIN <= int(timeout_text) <= TIMEOUT_MAX:
        raise SigningError(f"Время на подпись — от {TIMEOUT_MIN} до {TIMEOUT_MAX} секунд.")
    pems = split_pem_bundle(str(form.get("external_ca", "") or ""))
    for number, pem in enumerate(pems, start=1):
        try:
            x509.load_pem_x509_certificate(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as error:
            raise SigningError(
                f"Сертификат УЦ № {number} не читается: вставьте его в формате PEM целиком."
            ) from error
    external_ca = "".join(pems)
    if kind == GOST and not gost_available():
        raise SigningError(f"Подпись ГОСТ на этом сервере недоступна. {NO_GOST}")
    if kind == EXTERNAL:
        check_template(command)
        if not external_ca:
            raise SigningError(
                "Вставьте сертификат УЦ (PEM), выдавшего ключи консультантов: "
                "по нему ФАП проверяют подписи без связи."
            )
    values = {
        "kind": kind,
        "gost_bits": int(bits_text),
        "command": command,
        "timeout": int(timeout_text),
        "external_ca": external_ca,
        "updated_at": utcnow(),
        "updated_by": admin_id,
    }
    with database.atomic():
        if settings_for(centre_id) is None:
            SignerSettings.create(centre_id=centre_id, **values)
        else:
            SignerSettings.update(values).where(SignerSettings.centre_id == centre_id).execute()
    saved = settings_for(centre_id)
    assert saved is not None
    return saved
