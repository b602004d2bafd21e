"""Identity numbers of Russian patients: SNILS, ЕНП (OMS policy) and phone numbers.

Each `normalize_*` returns the canonical stored form or raises ValidationError
with a message the feldsher can act on. The model and the API both call these.
"""

from __future__ import annotations

import re
from typing import NoReturn

import phonenumbers

from i18n import N_

from .errors import ValidationError

__all__ = [
    "normalize_snils",
    "normalize_enp",
    "normalize_phone",
    "format_phone",
    "without_extension",
    "format_snils",
    "PHONE_MAX_LENGTH",
    "PHONE_EXTENSION",
]

_NOT_DIGITS = re.compile(r"[\s\-()]+")


def _digits(value: str, field: str, label_error: str) -> str:
    cleaned = _NOT_DIGITS.sub("", value or "")
    if not cleaned.isdigit():
        raise ValidationError(label_error, field=field)
    return cleaned


def snils_check_digits(first_nine: str) -> str:
    """The two control digits of a SNILS number from its first nine digits."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(9, 0, -1), strict=True))
    if total < 100:
        control = total
    elif total in (100, 101):
        control = 0
    else:
        control = total % 101
        if control == 100:
            control = 0
    return f"{control:02d}"


def normalize_snils(value: str) -> str:
    """Eleven digits with a valid checksum, stored without separators."""
    digits = _digits(value, "snils", N_("СНИЛС должен состоять из цифр, например 112-233-445 95"))
    if len(digits) != 11:
        raise ValidationError(
            N_("СНИЛС должен содержать 11 цифр, введено %(count)s"),
            field="snils",
            count=len(digits),
        )
    # Numbers up to 001-001-998 were issued before the checksum existed.
    if int(digits[:9]) > 1001998 and snils_check_digits(digits[:9]) != digits[9:]:
        raise ValidationError(
            N_("Контрольное число СНИЛС не сходится: проверьте номер по документу"), field="snils"
        )
    return digits


def format_snils(digits: str) -> str:
    """SNILS as printed on the card: 112-233-445 95."""
    return f"{digits[0:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:11]}" if len(digits) == 11 else digits


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def normalize_enp(value: str) -> str:
    """The 16-digit single policy number (ЕНП ОМС) with a valid Luhn check digit."""
    digits = _digits(value, "enp", N_("Полис ОМС (ЕНП) должен состоять из цифр"))
    if len(digits) != 16:
        raise ValidationError(
            N_("Полис ОМС (ЕНП) должен содержать 16 цифр, введено %(count)s"),
            field="enp",
            count=len(digits),
        )
    if not luhn_valid(digits):
        raise ValidationError(
            N_("Контрольная цифра полиса ОМС не сходится: проверьте номер по полису"), field="enp"
        )
    return digits


#: The stored phone's longest form: a Russian E.164 number (12 characters) with an
#: extension as RFC 3966 writes it (";ext=" and up to 15 digits). Every column that
#: stores a normalised phone is this wide.
PHONE_MAX_LENGTH = 32

#: How an extension is written after the E.164 number (RFC 3966's parameter).
PHONE_EXTENSION = ";ext="

#: A number already in the stored form, without an extension (ASCII digits only).
_STORED_RU = re.compile(r"\+7[1-9][0-9]{9}")


def normalize_phone(value: str, field: str = "phone", *, extension: bool = True) -> str:
    """A Russian phone number in E.164 (+7XXXXXXXXXX), with ";ext=123" if it has an extension.

    8-prefixed and local forms are accepted, and so are extensions as people write them
    («доб. 123», «ext. 123»). +7 is also Kazakhstan's code: only numbers of Russia pass.
    `extension=False` refuses one (a number telephony dials or shows as the caller).
    """
    text = (value or "").strip()
    if not text:
        raise ValidationError(N_("Укажите номер телефона"), field=field)
    if _STORED_RU.fullmatch(text):
        # The stored form itself, which is what posts send central: parsing it would give this
        # very number, so only its validity is checked (parsing was a third of central's apply
        # of 10,000 new patients). An invalid one is refused below, in the same words.
        known = phonenumbers.PhoneNumber(country_code=7, national_number=int(text[2:]))
        if phonenumbers.is_valid_number_for_region(known, "RU"):
            return text
    try:
        number = phonenumbers.parse(text, "RU")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            N_(
                "Не удалось распознать номер телефона «%(value)s»: введите, например, +7 912 345-67-89"  # noqa: E501
            ),
            field=field,
            value=text,
        ) from exc
    # A valid Russian number (nearly every one a post sends) is answered by one check; only the
    # others need the region looked up, to say which mistake it is (central's apply of 10,000
    # new patients spent a quarter of its time here, looking the region up twice).
    if not phonenumbers.is_valid_number_for_region(number, "RU"):
        _refuse_foreign(number, text, field)
    stored = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if number.extension and not extension:
        raise ValidationError(
            N_("Укажите номер «%(value)s» без добавочного: добавочный номер телефония не наберёт"),
            field=field,
            value=text,
        )
    if number.extension:
        stored += PHONE_EXTENSION + number.extension
    if len(stored) > PHONE_MAX_LENGTH:
        raise ValidationError(
            N_("Добавочный номер «%(extension)s» слишком длинный: проверьте номер телефона"),
            field=field,
            extension=number.extension,
        )
    return stored


def _refuse_foreign(number: phonenumbers.PhoneNumber, text: str, field: str) -> NoReturn:
    """Say why a number that is not a valid Russian one is refused."""
    region = phonenumbers.region_code_for_number(number)
    if number.country_code == 7 and region == "KZ":
        raise ValidationError(
            N_(
                "Номер телефона «%(value)s» — казахстанский (+7 6… и +7 7…): укажите российский номер, например +7 912 345-67-89"  # noqa: E501
            ),
            field=field,
            value=text,
        )
    raise ValidationError(
        N_("Номер телефона «%(value)s» не похож на российский: введите, например, +7 912 345-67-89"),  # noqa: E501
        field=field,
        value=text,
    )


def without_extension(stored: str) -> str:
    """The number to dial: a stored phone without its extension (that one is asked for)."""
    return stored.split(PHONE_EXTENSION, 1)[0]


def format_phone(stored: str, extension_word: str = "доб.") -> str:
    """A stored phone as people write it: +7 495 123-45-67 доб. 123 (anything else as it is).

    Pages pass the word for an extension in the user's language ("ext." in English).
    """
    try:
        number = phonenumbers.parse(stored, "RU")
    except phonenumbers.NumberParseException:
        return stored
    shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    # The library writes " ext. " between the number and the extension.
    return shown.replace(" ext. ", f" {extension_word} ")
