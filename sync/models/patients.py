"""Patients registered at posts, with their identity numbers and legal representatives."""

from __future__ import annotations

from datetime import date

from peewee import CharField, DateField, Expression, ForeignKeyField, TextField

from ..errors import N_, ValidationError
from ..validators import format_snils, normalize_enp, normalize_phone, normalize_snils
from .base import SyncModel
from .directory import Organization, today_at

__all__ = ["Patient", "Sex", "Relation", "REPRESENTATIVE_REQUIRED_UNDER"]

#: Under this age (full years) a legal representative consents for the patient
#: (Federal Law 323-ФЗ, art. 20 part 2 and art. 54 part 2).
REPRESENTATIVE_REQUIRED_UNDER = 15


class Sex:
    MALE = "male"
    FEMALE = "female"
    ALL = (MALE, FEMALE)


class Relation:
    """Who the legal representative is to the patient (законный представитель)."""

    MOTHER = "mother"  # мать
    FATHER = "father"  # отец
    GUARDIAN = "guardian"  # опекун
    TRUSTEE = "trustee"  # попечитель
    ADOPTIVE_PARENT = "adoptive"  # усыновитель
    OTHER = "other"  # иной законный представитель
    ALL = (MOTHER, FATHER, GUARDIAN, TRUSTEE, ADOPTIVE_PARENT, OTHER)


class Patient(SyncModel):
    last_name = CharField(max_length=100)
    first_name = CharField(max_length=100)
    middle_name = CharField(max_length=100, default="")
    birth_date = DateField()
    sex = CharField(max_length=8)
    snils = CharField(max_length=11, null=True, index=True)
    enp = CharField(max_length=16, null=True, index=True)
    phone = CharField(max_length=16, null=True, index=True)
    address = CharField(max_length=500, default="")
    organization = ForeignKeyField(Organization, backref="patients")
    representative = ForeignKeyField("self", null=True, backref="represented")
    #: The representative's relation to the patient (a `Relation` value), with either
    #: `representative` (an adult patient of the post) or the name, document and phone below.
    representative_relation = CharField(max_length=16, default="")
    representative_name = CharField(max_length=300, default="")
    representative_document = CharField(max_length=200, default="")
    representative_phone = CharField(max_length=24, null=True)
    #: Demographics are edited at the post and at central: merged field by field.
    field_stamps = TextField(default="{}")

    PER_FIELD = True

    organization_id: str
    representative_id: str | None

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)

    @property
    def snils_display(self) -> str:
        return format_snils(self.snils) if self.snils else ""

    def age(self, today: date) -> int:
        born = self.birth_date
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    def validate(self) -> None:
        for name in ("last_name", "first_name"):
            value = (getattr(self, name) or "").strip()
            if not value:
                raise ValidationError(N_("Укажите фамилию и имя пациента"), field=name)
            setattr(self, name, value)
        if not isinstance(self.birth_date, date):
            raise ValidationError(N_("Укажите дату рождения пациента"), field="birth_date")
        # The post's own date: a newborn registered after midnight in Kamchatka is
        # not "born tomorrow" for central, still on yesterday in Moscow.
        if self.birth_date > today_at(self.organization_id):
            raise ValidationError(N_("Дата рождения не может быть в будущем"), field="birth_date")
        if self.birth_date.year < 1900:
            raise ValidationError(N_("Проверьте год рождения пациента"), field="birth_date")
        if self.sex not in Sex.ALL:
            raise ValidationError(N_("Укажите пол пациента"), field="sex")
        self.snils = normalize_snils(self.snils) if self.snils else None
        self.enp = normalize_enp(self.enp) if self.enp else None
        self.phone = normalize_phone(self.phone) if self.phone else None
        if not (self.snils or self.enp or self.phone):
            raise ValidationError(
                N_("Укажите хотя бы один из номеров: телефон, СНИЛС или полис ОМС"), field="phone"
            )
        if self.representative_id and self.representative_id == self.id:
            raise ValidationError(N_("Пациент не может быть своим законным представителем"))

    @classmethod
    def scope_for_post(cls, organization_id: str) -> Expression:
        return cls.organization == organization_id
