"""Patients registered at posts, with their identity numbers and legal representatives."""

from __future__ import annotations

from datetime import date

from peewee import CharField, DateField, ForeignKeyField, TextField

from i18n import N_
from sync.model import SyncModel

from ..errors import ValidationError
from ..validators import PHONE_MAX_LENGTH, format_snils, normalize_enp, normalize_phone, normalize_snils
from .directory import Organization, today_at
from .ownership import OwnedByPost

__all__ = ["Patient", "Sex", "Relation", "REPRESENTATIVE_REQUIRED_UNDER", "ADULT_AGE"]

#: Under this age (full years) a legal representative consents for the patient
#: (Federal Law 323-ФЗ, art. 20 part 2 and art. 54 part 2).
REPRESENTATIVE_REQUIRED_UNDER = 15
#: A legal representative is an adult (Civil Code art. 21: full capacity at 18).
ADULT_AGE = 18


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


class Patient(OwnedByPost, SyncModel):
    POST_PATH = ("organization",)

    last_name = CharField(max_length=100)
    first_name = CharField(max_length=100)
    middle_name = CharField(max_length=100, default="")
    birth_date = DateField()
    sex = CharField(max_length=8)
    snils = CharField(max_length=11, null=True, index=True)
    enp = CharField(max_length=16, null=True, index=True)
    phone = CharField(max_length=PHONE_MAX_LENGTH, null=True, index=True)
    address = CharField(max_length=500, default="")
    organization = ForeignKeyField(Organization, backref="patients")
    representative = ForeignKeyField("self", null=True, backref="represented")
    #: The representative's relation to the patient (a `Relation` value), with either
    #: `representative` (an adult patient of the post) or the name, document and phone below.
    representative_relation = CharField(max_length=16, default="")
    representative_name = CharField(max_length=300, default="")
    representative_document = CharField(max_length=200, default="")
    representative_phone = CharField(max_length=PHONE_MAX_LENGTH, null=True)
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
        today = today_at(self.organization_id)
        if self.birth_date > today:
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
        self._check_representative(today)

    @property
    def has_representative(self) -> bool:
        return bool(self.representative_id or (self.representative_name or "").strip())

    @property
    def representative_display(self) -> str:
        """The representative's name: the linked patient's, or the one written on the card."""
        if self.representative_id:
            linked = Patient.get_or_none(Patient.id == self.representative_id)
            return linked.full_name if linked is not None else ""
        return self.representative_name or ""

    def age_today(self) -> int:
        """Full years today at the patient's post (its region's time zone)."""
        return self.age(today_at(self.organization_id))

    def needs_representative(self) -> bool:
        """Under 15 full years: a legal representative consents for the patient."""
        return self.age_today() < REPRESENTATIVE_REQUIRED_UNDER

    def _check_representative(self, today: date) -> None:
        """The legal representative: an adult other than the patient, with the relation
        (ages as of `today` at the post).

        A row stored before these rules (a child without one, a link without the
        relation) stays loadable and editable until its birth date or representative changes.
        """
        self.representative_name = (self.representative_name or "").strip()
        self.representative_document = (self.representative_document or "").strip()
        self.representative_relation = (self.representative_relation or "").strip()
        if self.representative_phone:
            try:
                self.representative_phone = normalize_phone(self.representative_phone)
            except ValidationError as exc:
                raise ValidationError(exc.template, field="representative_phone", **exc.params) from None
        else:
            self.representative_phone = None
        relation = self.representative_relation
        if relation and relation not in Relation.ALL:
            raise ValidationError(
                N_("Выберите, кем представитель приходится пациенту"), field="representative_relation"
            )
        linked = self.representative_id
        if linked and linked == self.id:
            raise ValidationError(
                N_("Пациент не может быть своим законным представителем"), field="representative"
            )
        if not self.has_representative:
            if relation or self.representative_document or self.representative_phone:
                raise ValidationError(
                    N_("Укажите ФИО законного представителя или выберите его среди пациентов поста"),
                    field="representative_name",
                )
            if self.age(today) < REPRESENTATIVE_REQUIRED_UNDER and not self._stored_as_is():
                raise ValidationError(
                    N_(
                        "Пациенту нет %(age)s лет: укажите законного представителя "
                        "(ст. 20 и 54 Федерального закона № 323-ФЗ)"
                    ),
                    field="representative",
                    age=REPRESENTATIVE_REQUIRED_UNDER,
                )
            return
        if not relation and not self._stored_as_is():
            raise ValidationError(
                N_("Выберите, кем представитель приходится пациенту"), field="representative_relation"
            )
        if linked:
            other = Patient.get_or_none(Patient.id == linked)
            # Not here yet (a record from a peer before its parent): checked when it arrives here.
            if other is not None and other.age(today) < ADULT_AGE:
                raise ValidationError(
                    N_(
                        "Законным представителем может быть только совершеннолетний "
                        "(18 лет и старше): %(name)s — младше 18 лет"
                    ),
                    field="representative",
                    name=other.full_name,
                )
            return
        if self.representative_name.casefold() == self.full_name.casefold():
            raise ValidationError(
                N_("Пациент не может быть своим законным представителем"), field="representative_name"
            )
        if not self.representative_document and not self._stored_as_is():
            raise ValidationError(
                N_(
                    "Укажите документ, подтверждающий полномочия представителя "
                    "(например, свидетельство о рождении)"
                ),
                field="representative_document",
            )

    def refuse_duplicates(self, exclude: str | None = None) -> None:
        """One card per SNILS and per ЕНП, at a post and at central alike (a phone may be a
        family's). Call after `validate`, which normalises the numbers."""
        for name, label in (("snils", N_("СНИЛС")), ("enp", N_("полисом ОМС"))):
            value = getattr(self, name)
            if not value:
                continue
            query = Patient.live().where(getattr(Patient, name) == value)
            if exclude:
                query = query.where(Patient.id != exclude)
            if query.exists():
                raise ValidationError(
                    N_("Пациент с таким номером (%(what)s) уже зарегистрирован: найдите его в поиске"),
                    field=name,
                    what=label,
                )

    def _stored_as_is(self) -> bool:
        """Is this row already stored with the same birth date and representative?"""
        stored = Patient.get_or_none(Patient.id == self.id) if self.id else None
        return stored is not None and all(
            stored.__data__.get(name) == self.__data__.get(name)
            for name in (
                "birth_date",
                "representative",
                "representative_name",
                "representative_relation",
                "representative_document",
            )
        )
