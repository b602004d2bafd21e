"""A birth date is checked against the date at the post, not at whichever machine validates it.

Kamchatka is nine hours ahead of Moscow: at 01:30 on 8 December there, central is
still on 7 December. A newborn registered that night must reach central.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.errors import ValidationError
from domain.models import Organization, OrgKind, Patient, Region
from tests.helpers.data import rows
from tests.helpers.pushes import patient_record, push

#: 13:30 UTC on 7 December: 01:30 on the 8th in Kamchatka (UTC+12), 16:30 on the 7th in Moscow.
NOW = datetime(2026, 12, 7, 13, 30)
MOTHER = {
    "snils": None,
    "phone": "+79141234567",
    "representative_relation": "mother",
    "representative_name": "Ительменова Айна Петровна",
    "representative_document": "паспорт 3005 123456",
}


@pytest.fixture
def kamchatka_post(seeded, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    """A post in Kamchatka, at central, with central's clock frozen at NOW."""
    monkeypatch.setattr("sync.clock.utcnow", lambda: NOW)
    region = Region.create(name="Камчатский край", timezone="Asia/Kamchatka")
    post = Organization.create(name="ФАП с. Эссо", kind=OrgKind.POST, region=region)
    return str(post.id)


def test_a_newborn_registered_after_midnight_in_kamchatka_reaches_central(kamchatka_post) -> None:  # type: ignore[no-untyped-def]
    record = patient_record(kamchatka_post, birth_date="2026-12-08", first_name="Алексей", **MOTHER)
    result = push([record], kamchatka_post)
    assert (result.applied, result.refused) == (1, [])
    assert Patient.get_by_id(record["id"]).birth_date == date(2026, 12, 8)


def test_a_date_after_the_posts_today_is_still_refused(kamchatka_post) -> None:  # type: ignore[no-untyped-def]
    before = rows(Patient)
    result = push([patient_record(kamchatka_post, birth_date="2026-12-09", **MOTHER)], kamchatka_post)
    assert result.applied == 0 and result.refused[0]["error"] == "invalid"
    assert "Дата рождения не может быть в будущем" in result.refused[0]["message"]
    assert rows(Patient) == before


def test_a_moscow_post_at_the_same_moment_is_still_on_the_7th(seeded, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sync.clock.utcnow", lambda: NOW)
    post = seeded.posts[0][0]  # Тверская область, Europe/Moscow
    result = push([patient_record(post, birth_date="2026-12-08", **MOTHER)], post)
    assert result.applied == 0 and "в будущем" in result.refused[0]["message"]
    assert push([patient_record(post, birth_date="2026-12-07", **MOTHER)], post).applied == 1


def test_the_post_checks_its_own_registration_with_the_same_date(kamchatka_post) -> None:  # type: ignore[no-untyped-def]
    # What the kiosk's Patient.validate() does before it stores the card: the same rule.
    fields = patient_record(kamchatka_post, **MOTHER)["fields"] | {"birth_date": date(2026, 12, 8)}
    Patient(**fields).validate()
    fields["birth_date"] = date(2026, 12, 9)
    with pytest.raises(ValidationError, match="в будущем"):
        Patient(**fields).validate()
