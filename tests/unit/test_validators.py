"""Identity numbers: what a feldsher types, what is stored, what is refused and why."""

from __future__ import annotations

import random

import pytest

from domain.errors import ValidationError
from domain.validators import (
    PHONE_MAX_LENGTH,
    format_phone,
    format_snils,
    normalize_enp,
    normalize_phone,
    normalize_snils,
    without_extension,
)


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("112-233-445 95", "11223344595"),
        ("11223344595", "11223344595"),
        ("087-654-303 00", "08765430300"),  # sum is 101 → control 00
        ("001-001-997 00", "00100199700"),  # issued before checksums: not checked
    ],
)
def test_valid_snils_is_stored_as_digits(typed: str, stored: str) -> None:
    assert normalize_snils(typed) == stored


@pytest.mark.parametrize(
    "typed, message",
    [
        ("112-233-445 96", "Контрольное число СНИЛС не сходится"),
        ("112-233-445", "СНИЛС должен содержать 11 цифр, введено 9"),
        ("112-233-445 9X", "СНИЛС должен состоять из цифр"),
    ],
)
def test_invalid_snils_says_why(typed: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        normalize_snils(typed)
    assert message in err.value.message
    assert err.value.field == "snils"


def test_snils_is_shown_as_on_the_card() -> None:
    assert format_snils("11223344595") == "112-233-445 95"


def test_enp_with_valid_luhn_digit() -> None:
    assert normalize_enp("4111 1111 1111 1111") == "4111111111111111"


@pytest.mark.parametrize(
    "typed, message",
    [
        ("4111111111111112", "Контрольная цифра полиса ОМС не сходится"),
        ("411111111111111", "должен содержать 16 цифр, введено 15"),
        ("41111111111111AB", "должен состоять из цифр"),
    ],
)
def test_invalid_enp_says_why(typed: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        normalize_enp(typed)
    assert message in err.value.message


@pytest.mark.parametrize(
    "typed",
    [
        "8 912 345-67-89",
        "8-912-345-67-89",
        "+7 (912) 345-67-89",
        "+7 912 345-67-89",
        "9123456789",
        "7 912 345 67 89",
    ],
)
def test_russian_phone_forms_normalise_to_e164(typed: str) -> None:
    assert normalize_phone(typed) == "+79123456789"


def _judged(typed: str) -> tuple[str, str]:
    try:
        return "stored", normalize_phone(typed)
    except ValidationError as err:
        return "refused", err.template


def test_a_number_in_the_stored_form_is_judged_as_the_same_number_typed() -> None:
    """Posts send central their stored numbers, which are not parsed again: each must get the
    answer its typed form gets (stored as it is, or refused in the same words)."""
    rng = random.Random(14)
    national = [str(rng.randrange(10**9, 10**10)) for _ in range(3000)]
    national += ["9123456789", "4951234567", "7012345678", "7272500000", "6001234567", "8001234567"]
    met = set()
    for digits in national:
        answer = _judged(f"+7 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}")
        assert _judged("+7" + digits) == answer, digits
        met.add(answer[0] if answer[0] == "stored" else answer[1])
    assert len(met) == 3  # stored, refused as foreign, refused as Kazakh: each was met


@pytest.mark.parametrize("typed", ["+7９１２３４５６７８９", "+7912345678٩", " +79123456789 "])
def test_other_digits_than_ascii_are_stored_as_ascii(typed: str) -> None:
    assert normalize_phone(typed) == "+79123456789"


@pytest.mark.parametrize(
    "typed", ["+1 202 555 0143", "+375 29 123-45-67", "12345", "8 000 000 00 00", "телефон"]
)
def test_non_russian_or_broken_phone_is_refused(typed: str) -> None:
    with pytest.raises(ValidationError) as err:
        normalize_phone(typed)
    assert "+7 912 345-67-89" in err.value.message


@pytest.mark.parametrize("typed", ["+77012345678", "+7 701 234-56-78", "8 701 234 56 78", "+7 727 250-00-00"])
def test_a_kazakh_number_is_refused_though_it_starts_with_7(typed: str) -> None:
    with pytest.raises(ValidationError) as err:
        normalize_phone(typed)
    assert err.value.field == "phone"
    assert "казахстанский" in err.value.message and "укажите российский номер" in err.value.message


@pytest.mark.parametrize(
    "typed",
    [
        "+7 495 123-45-67 доб. 123",
        "8 (495) 123-45-67 доб 123",
        "+7 495 123-45-67 ext. 123",
        "+7 495 123-45-67 x123",
        "tel:+7-495-123-45-67;ext=123",
    ],
)
def test_an_extension_is_kept_after_the_number(typed: str) -> None:
    stored = normalize_phone(typed)
    assert stored == "+74951234567;ext=123"
    assert normalize_phone(stored) == stored  # validating a stored row changes nothing
    assert len(stored) <= PHONE_MAX_LENGTH
    assert format_phone(stored) == "+7 495 123-45-67 доб. 123"


def test_an_extension_too_long_for_the_column_is_refused() -> None:
    with pytest.raises(ValidationError, match="Добавочный номер .* слишком длинный"):
        normalize_phone("+7 495 123-45-67 доб. 1234567890123456")


def test_a_stored_phone_without_extension_is_shown_as_people_write_it() -> None:
    assert format_phone("+79123456789") == "+7 912 345-67-89"


def test_a_number_telephony_dials_or_shows_refuses_an_extension() -> None:
    with pytest.raises(ValidationError, match="без добавочного"):
        normalize_phone("+7 495 123-45-67 доб. 123", extension=False)
    assert normalize_phone("+7 495 123-45-67", extension=False) == "+74951234567"


def test_the_number_to_dial_leaves_the_extension_to_the_consultant() -> None:
    assert without_extension("+74951234567;ext=123") == "+74951234567"
    assert without_extension("+79123456789") == "+79123456789"
